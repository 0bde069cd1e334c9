"""Claims admin: validation and build are actions through the services (issue 13)."""

from django.contrib.auth import get_user_model

from denials.models import Claim
from tests.denials.charge_builders import charge, member, payer


def test_admin_build_action_builds_all_or_nothing(world, client):
    payer(world.tenant)
    member(world.tenant)
    good = charge(world.tenant, "A")
    bad = charge(world.tenant, "BAD", amount="0")
    root = get_user_model().objects.create_superuser(username="root", password="x-Pass-12345!")
    client.force_login(root)
    url = "/admin/denials/charge/"
    # when both are built: refused, every problem named, nothing built
    response = client.post(
        url, {"action": "build", "_selected_action": [good.pk, bad.pk]}, follow=True
    )
    assert "BAD: the charge is INVALID" in response.content.decode()
    assert not Claim.objects.exists()
    # when the good one alone is built: one claim
    response = client.post(url, {"action": "build", "_selected_action": [good.pk]}, follow=True)
    assert "built 1 claims" in response.content.decode()
    assert Claim.objects.get().billed_amount == good.amount
    # and the claim page of the admin shows it with its line
    page = client.get(f"/admin/denials/claim/{Claim.objects.get().pk}/change/")
    assert page.status_code == 200
    # and validate again works as an action
    response = client.post(url, {"action": "validate", "_selected_action": [bad.pk]}, follow=True)
    assert "0 valid, 1 invalid" in response.content.decode()
