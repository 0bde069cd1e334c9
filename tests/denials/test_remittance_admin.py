"""The remittance admin shows what services wrote; unmatch goes through the service."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from core import scopes as S
from denials.models import RemittanceClaim as RC
from tests.denials.remit_builders import load, sample_claims, sample_rows
from tests.denials.test_posting import amounts


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_admin_lists_remittances_and_unmatches_through_the_service(world, client):
    # given the sample posted
    claims = sample_claims(world.tenant)
    load(world.actor(S.Role.OWNER), sample_rows())
    root = get_user_model().objects.create_superuser(username="root", password="x-Pass-12345!")
    client.force_login(root)
    # the remittance list and a claim payment render
    assert "10100000000" in client.get("/admin/denials/remittance/").content.decode()
    rc = RC.objects.get(claim=claims["paid"])
    assert client.get(f"/admin/denials/remittanceclaim/{rc.pk}/change/").status_code == 200
    # when unmatched from the admin, the payment is reversed and the line waits again
    client.post(
        "/admin/denials/remittanceclaim/", {"action": "unmatch", "_selected_action": [rc.pk]}
    )
    assert RC.objects.get(pk=rc.pk).match_state == RC.MatchState.UNMATCHED
    assert amounts(claims["paid"])["balance"] == Decimal("34.25")
