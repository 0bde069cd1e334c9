"""Charges and claims screens (issue 13, item 12)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from core import scopes as S
from denials.models import Charge, Claim, PaymentApplication
from tests.denials.charge_builders import charge, member, payers_and_members


@pytest.fixture
def known(world):
    payers_and_members(world.tenant)
    return world


def test_charges_page_shows_each_error_and_the_counts(known):
    charge(known.tenant, "GOOD")
    charge(known.tenant, "BAD", amount="0", code="12")
    html = known.client(S.Role.VIEWER).get("/claims/charges/").content.decode()
    assert "amount: must be more than 0, found 0.00" in html
    assert "code: expected a CPT code" in html
    assert "0 pending · 1 valid (1 waiting for a claim) · 1 invalid" in html
    # a viewer gets no buttons
    assert "Validate charges" not in html
    operator = known.client(S.Role.OPERATIONS).get("/claims/charges/").content.decode()
    assert "Validate charges" in operator
    assert 'data-confirm="Build claims from every valid charge' in operator


def test_validate_button_revalidates_after_an_upstream_fix(known):
    charge(known.tenant, "LATE", member_id="M-LATE")
    member(known.tenant, "M-LATE")
    response = known.client(S.Role.OPERATIONS).post("/claims/charges/validate/", follow=True)
    assert "Validated 1 charges: 1 valid, 0 invalid." in response.content.decode()
    assert Charge.objects.get(charge_id="LATE").status == "VALID"


def test_build_ticked_charges_then_the_claim_page(known):
    charge(known.tenant, "A", amount="100.00")
    charge(known.tenant, "B", amount="50.00")
    response = known.client(S.Role.OPERATIONS).post(
        "/claims/charges/build/", {"charge": ["A", "B"]}, follow=True
    )
    html = response.content.decode()
    assert "Built 1 claims (CLM-000001)." in html
    assert "CLM-000001" in html and "$150.00" in html
    claim = Claim.objects.get()
    PaymentApplication.objects.create(
        tenant=known.tenant, claim=claim, kind="PAYMENT", amount=Decimal("120.00")
    )
    page = known.client(S.Role.VIEWER).get("/claims/CLM-000001/").content.decode()
    assert 'id="claim-balance"><strong>$30.00</strong>' in page
    assert 'id="balance-chart"' in page
    assert "payment: $30.00" in page
    assert page.count("<td>A</td>") == 1 and page.count("<td>B</td>") == 1


def test_build_refused_shows_each_charge_problem_and_builds_nothing(known):
    charge(known.tenant, "A")
    charge(known.tenant, "BAD", amount="-1")
    response = known.client(S.Role.OPERATIONS).post(
        "/claims/charges/build/", {"charge": ["A", "BAD"]}, follow=True
    )
    html = response.content.decode()
    assert "1 of 2 charges cannot be claimed; nothing was built." in html
    assert "BAD: the charge is INVALID; amount: must be more than 0, found -1.00" in html
    assert not Claim.objects.exists()


def test_build_all_valid_button(known):
    charge(known.tenant, "A")
    charge(known.tenant, "B", member_id="M-2")
    response = known.client(S.Role.OWNER).post(
        "/claims/charges/build/", {"all_valid": "1"}, follow=True
    )
    assert "Built 2 claims (CLM-000001 to CLM-000002)." in response.content.decode()
    again = known.client(S.Role.OWNER).post(
        "/claims/charges/build/", {"all_valid": "1"}, follow=True
    )
    assert "nothing was built" in again.content.decode()


def test_claims_list_filters_and_nav(known):
    charge(known.tenant, "A")
    charge(known.tenant, "B", member_id="M-2")
    known.client(S.Role.OWNER).post("/claims/charges/build/", {"all_valid": "1"})
    client = known.client(S.Role.VIEWER)
    html = client.get("/claims/?member=M-2").content.decode()
    assert "CLM-000002" in html and "CLM-000001" not in html
    assert ">Claims</a>" in html  # main nav entry
    for text in ("Charges", "837P export", "Receivables queue", "Job health", "Reconciliation"):
        assert text in html


def test_unknown_claim_is_a_friendly_404(known):
    response = known.client(S.Role.VIEWER).get("/claims/CLM-424242/")
    assert response.status_code == 404


def test_claims_and_charges_export_csv_with_the_list_filters(known):
    charge(known.tenant, "A", amount="100.00")
    charge(known.tenant, "B", member_id="M-2")
    charge(known.tenant, "=BAD", amount="0")  # a formula-looking id is written inert
    known.client(S.Role.OWNER).post("/claims/charges/build/", {"charge": ["A"]})
    client = known.client(S.Role.VIEWER)
    claims = client.get("/claims/export.csv?status=BUILT")
    assert claims["Content-Type"].startswith("text/csv")
    lines = b"".join(claims.streaming_content).decode().splitlines()
    assert lines[0].startswith("number,patient_control_number,status,payer_code,member_id")
    assert lines[1].startswith("CLM-000001,CLM-000001,BUILT,NORTHWIND,M-1,2026-11-02,2026-11-02,")
    assert ",100.00,0.00,0.00,0.00,0.00,0.00,100.00," in lines[1]
    assert len(lines) == 2
    charges = client.get("/claims/charges/export.csv?status=INVALID")
    rows = b"".join(charges.streaming_content).decode().splitlines()
    assert len(rows) == 2
    assert rows[1].startswith("'=BAD,")
    assert "amount: must be more than 0, found 0.00" in rows[1]
    # the list offers the export with its filters
    html = client.get("/claims/?status=BUILT&page=1").content.decode()
    assert 'href="/claims/export.csv?status=BUILT"' in html


@pytest.mark.parametrize("role", [r.value for r in S.Role])
def test_claims_nav_entry_for_every_role(world, role):
    # every role holds claims.view: the main navigation leads to the claims
    html = world.client(role).get("/").content.decode()
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    assert re.search(r'<a href="/claims/"[^>]*>Claims</a>', nav)
