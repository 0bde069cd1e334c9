"""claims_export_837: BUILT claims -> one interchange, SUBMITTED, control numbers per tenant."""

from __future__ import annotations

from datetime import date

import pytest

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError, ScopeDenied
from core.models import AuditEntry
from denials.models import Claim, ClaimsSettings, Interchange837
from denials.services.x12_export import claims_export_837
from tests.billing.exception_builders import narrow
from tests.denials.builders_x837 import claim, payer
from tests.denials.x12_validate import pyx12_validate


def _segs(text: str) -> list[list[str]]:
    return [s.split("*") for s in text.split("~") if s]


def test_export_named_claims_submits_them_and_writes_a_valid_interchange(world):
    # given two BUILT claims (one of two lines) and a third one not named
    d1, d2 = date(2026, 2, 2), date(2026, 2, 5)
    a = claim(world.tenant, lines=[("99213", "100.00", d1), ("87880", "25.50", d2)], pcn="PCN-A")
    b = claim(world.tenant, member_id="M002")
    c = claim(world.tenant)
    # when the owner exports the two
    x = claims_export_837(
        actor=world.actor(), tenant=world.tenant, claim_numbers=[a.number, b.number]
    )
    # then both are SUBMITTED with the time and the interchange number; the third stays BUILT
    for obj in (a, b, c):
        obj.refresh_from_db()
    assert (a.status, b.status, c.status) == ("SUBMITTED", "SUBMITTED", "BUILT")
    assert a.submitted_at == x.created_at and a.interchange_control_number == "000000001"
    assert x.claim_count == 2 and str(x.total_billed) == "225.50"
    # and the file carries them, validated by pyx12
    ok, ack = pyx12_validate(x.content)
    assert ok, ack
    segs = _segs(x.content)
    assert [s[1:3] for s in segs if s[0] == "CLM"] == [["PCN-A", "125.5"], [b.number, "100"]]
    assert ["DTP", "472", "D8", "20260205"] in segs
    assert ["NM1", "PR", "2", "Acme Health", "", "", "", "", "PI", "ACME01"] in segs
    # and the state change is audited per claim
    audited = AuditEntry.objects.filter(tenant=world.tenant, action="Claim.submit")
    assert sorted(audited.values_list("object_id", flat=True)) == sorted([str(a.pk), str(b.pk)])


def test_export_uses_the_tenant_settings_and_advances_control_numbers(world):
    # given the tenant's billing provider and a first export already done
    ClaimsSettings.objects.create(
        tenant=world.tenant, provider_name="Alpha Clinic", provider_npi="1999999984",
        submitter_id="ALPHASUB", interchange_control_number=41, group_control_number=9,
    )  # fmt: skip
    claim(world.tenant)
    first = claims_export_837(actor=world.actor(), tenant=world.tenant, all_built=True)
    claim(world.tenant)
    second = claims_export_837(actor=world.actor(), tenant=world.tenant, all_built=True)
    # then the control numbers follow on, and the provider comes from the settings
    assert (first.interchange_control_number, second.interchange_control_number) == (
        "000000042", "000000043"
    )  # fmt: skip
    assert (first.group_control_number, second.group_control_number) == ("10", "11")
    segs = _segs(second.content)
    assert segs[0][6].strip() == "ALPHASUB" and segs[0][13] == "000000043"
    assert ["NM1", "85", "2", "Alpha Clinic", "", "", "", "", "XX", "1999999984"] in segs
    # and another tenant numbers its own interchanges from 1
    other = Actor(tenant=world.other_tenant, user=world.outsider)
    claim(world.other_tenant)
    x = claims_export_837(actor=other, tenant=world.other_tenant, all_built=True)
    assert x.interchange_control_number == "000000001"


def test_export_all_built_takes_only_built_claims(world):
    # given a built claim and a submitted one
    built = claim(world.tenant)
    claim(world.tenant, status=Claim.Status.SUBMITTED)
    # when all built claims are exported
    x = claims_export_837(actor=world.actor(), tenant=world.tenant, all_built=True)
    # then only the built one went out
    assert [s[1] for s in _segs(x.content) if s[0] == "CLM"] == [built.number]
    # and a second export finds nothing to send and changes nothing
    with pytest.raises(DomainError) as err:
        claims_export_837(actor=world.actor(), tenant=world.tenant, all_built=True)
    assert err.value.code == "nothing_to_export"
    assert Interchange837.objects.filter(tenant=world.tenant).count() == 1


def test_export_is_all_or_nothing_naming_each_refused_claim(world):
    # given a built claim, a submitted one and an unknown number
    ok = claim(world.tenant)
    sent = claim(world.tenant, status=Claim.Status.SUBMITTED)
    # when all three are named
    with pytest.raises(DomainError) as err:
        claims_export_837(
            actor=world.actor(), tenant=world.tenant,
            claim_numbers=[ok.number, sent.number, "CLM-NOPE"],
        )  # fmt: skip
    # then each refused claim is named, and nothing was exported or numbered
    assert err.value.details["claims"] == {
        sent.number: "it is SUBMITTED; only BUILT claims are exported",
        "CLM-NOPE": "no such claim",
    }
    ok.refresh_from_db()
    assert ok.status == "BUILT"
    assert not Interchange837.objects.exists()
    assert not ClaimsSettings.objects.filter(interchange_control_number__gt=0).exists()


def test_export_needs_claims_write(world):
    claim(world.tenant)
    with pytest.raises(ScopeDenied):
        claims_export_837(actor=world.actor(S.Role.VIEWER), tenant=world.tenant, all_built=True)
    assert Claim.objects.get().status == "BUILT"


def test_export_another_tenants_claim_is_unknown(world):
    theirs = claim(world.other_tenant)
    with pytest.raises(DomainError) as err:
        claims_export_837(actor=world.actor(), tenant=world.tenant, claim_numbers=[theirs.number])
    assert err.value.details["claims"] == {theirs.number: "no such claim"}


def test_export_respects_payer_grants(world):
    # given an operations member narrowed to payer ACME, and claims of ACME and OTHER
    narrow(world, S.Role.OPERATIONS, payer(world.tenant, "ACME"))
    mine = claim(world.tenant)
    hidden = claim(world.tenant, payer_code="OTHER")
    actor = world.actor(S.Role.OPERATIONS)
    # when they name the hidden one, it is unknown to them
    with pytest.raises(DomainError):
        claims_export_837(actor=actor, tenant=world.tenant, claim_numbers=[hidden.number])
    # and exporting all built takes only the granted payer's claim
    x = claims_export_837(actor=actor, tenant=world.tenant, all_built=True)
    assert [s[1] for s in _segs(x.content) if s[0] == "CLM"] == [mine.number]
    hidden.refresh_from_db()
    assert hidden.status == "BUILT"


def test_interchanges_holding_hidden_payers_are_not_listed(world):
    # given one interchange of ACME claims and one mixing ACME and OTHER
    from denials.selectors_export import interchange_list

    owner = world.actor()
    a = claim(world.tenant)
    only_acme = claims_export_837(actor=owner, tenant=world.tenant, claim_numbers=[a.number])
    b, c = claim(world.tenant), claim(world.tenant, payer_code="OTHER")
    claims_export_837(actor=owner, tenant=world.tenant, claim_numbers=[b.number, c.number])
    # when an operations member is narrowed to ACME
    narrow(world, S.Role.OPERATIONS, payer(world.tenant, "ACME"))
    # then they see only the ACME-only interchange; the owner sees both
    assert list(interchange_list(world.actor(S.Role.OPERATIONS))) == [only_acme]
    assert interchange_list(world.actor()).count() == 2


def test_demo_exports_all_built_claims_but_the_newest_once(world):
    from denials.demo_x837 import load_export_demo

    # given no built claim, then three
    assert load_export_demo(world.tenant) == "no built claims to export"
    first, second, newest = (claim(world.tenant) for _ in range(3))
    # when the demo loader runs twice
    assert "2 claims submitted" in load_export_demo(world.tenant)
    assert load_export_demo(world.tenant) == "837P interchange already written"
    # then the two oldest went out; the newest waits on the export screen
    statuses = dict(Claim.objects.values_list("number", "status"))
    assert statuses == {first.number: "SUBMITTED", second.number: "SUBMITTED",
                        newest.number: "BUILT"}  # fmt: skip


def test_export_refuses_a_claim_of_more_than_50_lines(world):
    # given a built claim of 51 lines (an 837P claim carries at most 50)
    big = claim(world.tenant, lines=[("99213", "1.00", date(2026, 2, 2))] * 51)
    # when all built claims are exported, then it is named and nothing goes out
    with pytest.raises(DomainError) as err:
        claims_export_837(actor=world.actor(), tenant=world.tenant, all_built=True)
    assert err.value.details["claims"] == {big.number: "it has 51 lines; an 837P claim has 1 to 50"}
    big.refresh_from_db()
    assert big.status == "BUILT" and not Interchange837.objects.exists()
