"""CHARGES ingestion and validation (issue 13, item 1)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.exceptions import ScopeDenied
from core.models import AuditEntry
from denials.models import Charge
from denials.services.charges import charges_validate
from ingestion.models import BatchRecord
from tests.denials.charge_builders import DAY, charge, charges_csv, ingest, member, payer


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _records(batch) -> dict[int, tuple[str, str]]:
    return {
        r.row_number: (r.status, r.error_detail)
        for r in BatchRecord.objects.filter(batch=batch).order_by("row_number")
    }


def test_charges_file_loads_and_validates_each_charge(world):
    # given a known payer and member
    payer(world.tenant)
    member(world.tenant, "M-1")
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    # when a file with a good charge, a charge wrong in several ways and an unreadable row loads
    batch = ingest(
        world.actor(),
        charges_csv(
            ("C-1", "PCN-1", "M-1", "northwind", yesterday, "99213", "25", "1", "125.50", "A1"),
            ("C-2", "", "M-404", "NOPE", tomorrow, "ABC", "", "", "0", ""),
            ("C-3", "", "M-1", "NORTHWIND", "2026-02-30", "99213", "", "1", "12.345", ""),
        ),
    )
    # then the readable rows are stored, the good one VALID with its payer and member
    c1 = Charge.objects.get(charge_id="C-1")
    assert (c1.status, c1.errors, c1.payer.code, c1.member.external_id) == (
        "VALID",
        [],
        "NORTHWIND",
        "M-1",
    )
    assert (c1.amount, c1.claim_number, c1.modifier, c1.authorization) == (
        Decimal("125.50"),
        "PCN-1",
        "25",
        "A1",
    )
    # and the bad one INVALID with every error named, the member id never echoed
    c2 = Charge.objects.get(charge_id="C-2")
    assert c2.status == "INVALID"
    assert [e.split(":")[0] for e in c2.errors] == [
        "payer_code",
        "member_id",
        "service_date",
        "amount",
        "code",
    ]
    assert "M-404" not in " ".join(c2.errors)
    # and the unreadable row is an ERROR naming its fields, nothing stored for it
    status, detail = _records(batch)[4]
    assert status == "ERROR"
    assert "service_date" in detail and "amount" in detail
    assert not Charge.objects.filter(charge_id="C-3").exists()
    batch.refresh_from_db()
    assert (batch.success, batch.error) == (2, 1)
    # and each validation is in the audit trail
    assert AuditEntry.objects.filter(action="Charge.validated").count() == 2


def test_a_charge_id_loaded_again_under_another_key_is_an_error(world):
    payer(world.tenant)
    member(world.tenant)
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    ingest(
        world.actor(), charges_csv(("C-1", "", "M-1", "NORTHWIND", day, "99213", "", "", "5", ""))
    )
    # when the same charge id comes again with another amount, under a key that includes it
    batch = ingest(
        world.actor(),
        charges_csv(
            ("C-1", "", "M-1", "NORTHWIND", day, "99213", "", "", "6", ""),
            ("C-9", "", "M-1", "NORTHWIND", day, "99213", "", "", "7", ""),
        ),
        idempotency_key_fields=["charge_id", "amount"],
    )
    # then the repeat is an error naming the charge id, the new one loads
    records = _records(batch)
    assert records[2] == (
        "ERROR",
        "row 2: charge_id: 'C-1' was already loaded (charge ids are unique)",
    )
    assert records[3][0] == "SUCCESS"
    assert Charge.objects.get(charge_id="C-1").amount == Decimal("5.00")
    assert Charge.objects.get(charge_id="C-9").amount == Decimal("7.00")


def test_the_same_charge_id_twice_in_a_file_loads_once(world):
    payer(world.tenant)
    member(world.tenant)
    day = (timezone.localdate() - timedelta(days=1)).isoformat()
    batch = ingest(
        world.actor(),
        charges_csv(
            ("C-9", "", "M-1", "NORTHWIND", day, "99213", "", "", "7", ""),
            ("C-9", "", "M-1", "NORTHWIND", day, "99213", "", "", "8", ""),
        ),
    )
    assert [r[0] for r in _records(batch).values()] == ["SUCCESS", "SKIPPED"]
    assert Charge.objects.get(charge_id="C-9").amount == Decimal("7.00")


def test_revalidation_after_an_upstream_fix_makes_a_charge_valid(world):
    # given a charge naming a member not loaded yet
    payer(world.tenant)
    c = charge(world.tenant, "C-1", member_id="M-LATE")
    assert c.status == "INVALID"
    # when the member is loaded and the charges are re-validated (the nightly job's call)
    member(world.tenant, "M-LATE")
    counts = charges_validate(actor=Actor.system_for(world.tenant), tenant=world.tenant, today=DAY)
    # then the charge is VALID, its errors gone
    c.refresh_from_db()
    assert (c.status, c.errors, c.member.external_id) == ("VALID", [], "M-LATE")
    assert counts == {"checked": 1, "valid": 1, "invalid": 0, "unknown": 0, "claimed": 0}


def test_nightly_revalidation_of_unchanged_invalid_charges_writes_no_audit_entry(world):
    # given a charge still naming an unknown member
    payer(world.tenant)
    c = charge(world.tenant, "C-1", member_id="M-NEVER")
    entries = AuditEntry.objects.filter(tenant=world.tenant).count()
    # when the nightly job re-validates it twice with nothing fixed upstream
    system = Actor.system_for(world.tenant)
    for _ in range(2):
        counts = charges_validate(actor=system, tenant=world.tenant, today=DAY)
        assert counts == {"checked": 1, "valid": 0, "invalid": 1, "unknown": 0, "claimed": 0}
    # then it is still INVALID with its errors, and the audit trail did not grow each night
    c.refresh_from_db()
    assert c.status == "INVALID" and c.errors
    assert AuditEntry.objects.filter(tenant=world.tenant).count() == entries


def test_revalidation_leaves_valid_charges_alone_and_counts_unknown_ids(world):
    payer(world.tenant)
    member(world.tenant)
    charge(world.tenant, "C-1")
    # by default only PENDING and INVALID charges are checked
    counts = charges_validate(actor=Actor.system_for(world.tenant), tenant=world.tenant, today=DAY)
    assert counts["checked"] == 0
    # by id: a valid one is checked again, an unknown one counted
    counts = charges_validate(
        actor=world.actor(), tenant=world.tenant, charge_ids=["C-1", "C-X"], today=DAY
    )
    assert counts == {"checked": 1, "valid": 1, "invalid": 0, "unknown": 1, "claimed": 0}


def test_a_future_date_becomes_valid_once_the_day_comes(world):
    payer(world.tenant)
    member(world.tenant)
    c = charge(world.tenant, "C-1", service_date=DAY + timedelta(days=1))
    assert c.errors == ["service_date: must not be in the future, found 2026-11-03"]
    charges_validate(actor=world.actor(), tenant=world.tenant, today=DAY + timedelta(days=1))
    c.refresh_from_db()
    assert c.status == "VALID"


def test_validation_needs_claims_write(world):
    with pytest.raises(ScopeDenied):
        charges_validate(actor=world.actor(S.Role.VIEWER), tenant=world.tenant)


def test_validation_of_a_date_is_strict_in_the_file(world):
    payer(world.tenant)
    member(world.tenant)
    batch = ingest(
        world.actor(),
        charges_csv(("C-1", "", "M-1", "NORTHWIND", "11/02/2026", "99213", "", "", "5", "")),
    )
    assert _records(batch)[2][0] == "ERROR"
    assert "service_date" in _records(batch)[2][1]
    assert date(2026, 11, 2)  # the strict parser refuses US-style dates
