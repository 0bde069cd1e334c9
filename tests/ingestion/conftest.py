"""Fixtures shared by the ingestion tests."""

from datetime import date

import pytest

from billing.models import Member, Payer


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded files go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def facts(world):
    """Tenant A knows payer ACME and members M001..M005."""
    Payer.objects.create(tenant=world.tenant, code="ACME", name="Acme Insurance")
    for n in range(1, 6):
        Member.objects.create(
            tenant=world.tenant,
            external_id=f"M00{n}",
            first_name="Ada",
            last_name="Lovelace",
            birth_date=date(1980, 1, n),
        )
    return world
