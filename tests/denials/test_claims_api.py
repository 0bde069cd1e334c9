"""Charges and claims API (issue 13, items 1, 2, 11)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from core import scopes as S
from core.models import AuditEntry
from denials.models import Claim, PaymentApplication
from tests.denials.charge_builders import charge, member, payer, payers_and_members

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(world):
    payers_and_members(world.tenant, "NORTHWIND", "SOUTHWIND")
    return world


def test_build_returns_every_claim_id_and_number(known):
    charge(known.tenant, "A", amount="100.00")
    charge(known.tenant, "B", amount="20.00")
    charge(known.tenant, "C", member_id="M-2")
    # when an operator builds the three charges
    response = known.client(S.Role.OPERATIONS).post(
        "/api/claims/build", {"chargeIds": ["A", "B", "C"]}, format="json"
    )
    # then two claims were built, each with its id, number, amount and charges
    assert response.status_code == 201, response.content
    claims = response.json()["claims"]
    assert [(c["number"], c["billed_amount"], c["charges"]) for c in claims] == [
        ("CLM-000001", "120.00", ["A", "B"]),
        ("CLM-000002", "100.00", ["C"]),
    ]
    assert [c["id"] for c in claims] == list(
        Claim.objects.order_by("number").values_list("pk", flat=True)
    )


def test_build_with_a_bad_charge_is_400_with_per_charge_errors_and_builds_nothing(known):
    charge(known.tenant, "A")
    charge(known.tenant, "BAD", code="12")
    response = known.client(S.Role.OWNER).post(
        "/api/claims/build", {"chargeIds": ["A", "BAD", "GHOST"]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "charges_not_claimable"
    assert error["details"]["charges"]["GHOST"] == ["unknown charge id"]
    assert error["details"]["charges"]["BAD"][0] == "the charge is INVALID"
    assert "code: expected a CPT" in error["details"]["charges"]["BAD"][1]
    assert "A" not in error["details"]["charges"]
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "chargeIds"),
        ({"chargeIds": []}, "chargeIds"),
        ({"chargeIds": "A"}, "chargeIds"),
        ({"chargeIds": ["A"], "extra": 1}, "extra"),
        ({"charge_ids": ["A"]}, "chargeIds"),
    ],
)
def test_build_with_malformed_input_is_400_naming_the_field(known, body, field):
    response = known.client(S.Role.OWNER).post("/api/claims/build", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_build_needs_claims_write(known):
    charge(known.tenant, "A")
    response = known.client(S.Role.VIEWER).post(
        "/api/claims/build", {"chargeIds": ["A"]}, format="json"
    )
    assert response.status_code == 403
    assert not Claim.objects.exists()


def test_validate_endpoint_revalidates_after_an_upstream_fix(known):
    c = charge(known.tenant, "A", member_id="M-LATE")
    assert c.status == "INVALID"
    member(known.tenant, "M-LATE")
    response = known.client(S.Role.OPERATIONS).post("/api/charges/validate", {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"checked": 1, "valid": 1, "invalid": 0, "unknown": 0, "claimed": 0}
    c.refresh_from_db()
    assert c.status == "VALID"


def test_charge_list_shows_errors_and_claim(known):
    charge(known.tenant, "A")
    charge(known.tenant, "BAD", amount="-5")
    known.client(S.Role.OWNER).post("/api/claims/build", {"chargeIds": ["A"]}, format="json")
    client = known.client(S.Role.VIEWER)
    rows = {r["charge_id"]: r for r in client.get("/api/charges").json()["results"]}
    assert rows["A"]["status"] == "VALID" and rows["A"]["claim"] == "CLM-000001"
    assert rows["BAD"]["errors"] == ["amount: must be more than 0, found -5.00"]
    invalid = client.get("/api/charges?status=INVALID").json()["results"]
    assert [r["charge_id"] for r in invalid] == ["BAD"]
    unclaimed = client.get("/api/charges?claimed=false").json()["results"]
    assert [r["charge_id"] for r in unclaimed] == ["BAD"]
    assert client.get("/api/charges?status=nope").status_code == 400


def _claim_with_payment(world) -> Claim:
    charge(world.tenant, "A", amount="100.00")
    world.client(S.Role.OWNER).post("/api/claims/build", {"chargeIds": ["A"]}, format="json")
    claim = Claim.objects.get()
    PaymentApplication.objects.create(
        tenant=world.tenant, claim=claim, kind="PAYMENT", amount=Decimal("60.00")
    )
    PaymentApplication.objects.create(
        tenant=world.tenant,
        claim=claim,
        kind="ADJUSTMENT",
        amount=Decimal("15.00"),
        group_code="CO",
        carc="45",
        created_at=timezone.now(),
    )
    return claim


def test_claim_list_has_amounts_balance_and_applications(known):
    _claim_with_payment(known)
    response = known.client(S.Role.VIEWER).get("/api/claims?number=CLM-000001")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["number"], row["status"], row["billed_amount"], row["paid_amount"]) == (
        "CLM-000001",
        "BUILT",
        "100.00",
        "60.00",
    )
    assert row["balance"] == "25.00"
    assert [(a["kind"], a["amount"], a["carc"]) for a in row["applications"]] == [
        ("PAYMENT", "60.00", ""),
        ("ADJUSTMENT", "15.00", "45"),
    ]


def test_claim_list_filters(known):
    charge(known.tenant, "A")
    charge(known.tenant, "B", member_id="M-2", payer_code="SOUTHWIND")
    known.client(S.Role.OWNER).post("/api/claims/build", {"chargeIds": ["A", "B"]}, format="json")
    client = known.client(S.Role.VIEWER)

    def numbers(query: str) -> list[str]:
        response = client.get(f"/api/claims{query}")
        assert response.status_code == 200, response.content
        return sorted(r["number"] for r in response.json()["results"])

    assert numbers("") == ["CLM-000001", "CLM-000002"]
    assert numbers("?member=M-2") == ["CLM-000002"]
    assert numbers("?payer=northwind") == ["CLM-000001"]
    assert numbers("?status=BUILT") == ["CLM-000001", "CLM-000002"]
    assert numbers("?status=PAID") == []
    assert client.get("/api/claims?status=LOST").status_code == 400
    # the search is recorded as a PHI read, without the member id searched for
    entry = AuditEntry.objects.filter(action="phi.search").last()
    assert "M-2" not in str(entry.payload)


def test_per_payer_grants_narrow_claims_and_charges(known):
    charge(known.tenant, "A")
    charge(known.tenant, "B", payer_code="SOUTHWIND")
    known.client(S.Role.OWNER).post("/api/claims/build", {"chargeIds": ["A", "B"]}, format="json")
    viewer = known.users[S.Role.VIEWER]
    south = payer(known.tenant, "SOUTHWIND")
    assign_perm("billing.view_payer", viewer, south)
    client = known.client(S.Role.VIEWER)
    claims = client.get("/api/claims").json()["results"]
    assert [c["payer"] for c in claims] == ["SOUTHWIND"]
    charges = client.get("/api/charges").json()["results"]
    assert [c["charge_id"] for c in charges] == ["B"]
    north_claim = Claim.objects.get(payer__code="NORTHWIND").number
    assert client.get(f"/api/claims/{north_claim}").status_code == 404


def test_claim_detail_has_lines(known):
    claim = _claim_with_payment(known)
    response = known.client(S.Role.VIEWER).get(f"/api/claims/{claim.number}")
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == "25.00"
    assert [(x["line_number"], x["charge_id"], x["amount"]) for x in body["lines"]] == [
        (1, "A", "100.00")
    ]
    assert known.client(S.Role.VIEWER).get("/api/claims/CLM-999999").status_code == 404
    assert known.client("outsider").get(f"/api/claims/{claim.number}").status_code == 404
