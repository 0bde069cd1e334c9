"""Admin actions go through the services: four-eyes holds there too."""

from django.contrib.auth import get_user_model

from core.actors import Actor
from invoicing.models import InvoiceRequest
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import MON, account, request_type


def _admin(username):
    return get_user_model().objects.create_superuser(username=username, password="x-Pass-12345!")


def test_admin_approve_action_refuses_self_approval(world, client):
    creator, other = _admin("root1"), _admin("root2")
    r = invoice_request_create(
        actor=Actor(tenant=world.tenant, user=creator, system=True),
        type=request_type(world.tenant, "MAPP", approval=True),
        account=account(world.tenant),
        cutoff_date=MON,
        today=MON,
    )
    url = "/admin/invoicing/invoicerequest/"
    client.force_login(creator)
    response = client.post(url, {"action": "approve", "_selected_action": [r.pk]}, follow=True)
    assert response.status_code == 200
    assert "differ from the creator" in response.content.decode()
    r.refresh_from_db()
    assert r.status == InvoiceRequest.Status.PENDING_APPROVAL

    client.force_login(other)
    client.post(url, {"action": "approve", "_selected_action": [r.pk]})
    r.refresh_from_db()
    assert r.status in (InvoiceRequest.Status.PENDING, InvoiceRequest.Status.PROCESSED)
    assert r.approved_by == other
