"""Posting remittances (issue 13 items 5, 6, 8): the shared 835 sample loaded as REMITTANCE
records against matching claims; every cent accounted for; nothing posted twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import scopes as S
from core.models import AuditEntry
from denials.balances import with_amounts
from denials.models import Claim, ClaimsSettings, Denial, PaymentApplication, Remittance
from denials.models import RemittanceClaim as RC
from ingestion.models import Batch, BatchRecord
from tests.denials.remit_builders import claim, load, payer, sample_claims, sample_rows

D = Decimal


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


def amounts(c: Claim) -> dict:
    row = with_amounts(Claim.objects.filter(pk=c.pk)).get()
    return {
        "status": row.status,
        "paid": row.paid_amount,
        "adjusted": row.adjusted_amount,
        "patient": row.patient_amount,
        "reversed": row.reversed_amount,
        "balance": row.balance,
    }


def test_sample_835_posts_each_claim_payment_to_its_claim_to_the_cent(world, owner):
    # given the three claims the sample pays (they share one patient control number)
    claims = sample_claims(world.tenant)
    # when the sample's three claim payments are loaded
    batch = load(owner, sample_rows())
    # then every row loaded and every line matched automatically on number + member + amount
    assert (batch.status, batch.success, batch.error) == (Batch.Status.COMPLETED, 3, 0)
    lines = {rc.payer_claim_control_number: rc for rc in RC.objects.all()}
    assert {rc.match_state for rc in lines.values()} == {RC.MatchState.MATCHED_AUTO}
    assert lines["1000210000000030"].claim == claims["paid"]
    assert lines["1000220000000020"].claim == claims["denied"]
    assert lines["1000230000000020"].claim == claims["partial"]
    assert lines["1000210000000030"].score == D("1")
    # and the remittance carries the BPR total and the trace
    remittance = Remittance.objects.get()
    assert (remittance.trace_number, remittance.payment_amount) == ("10100000000", D("45.75"))
    # the paid claim: 34.25 paid, balance 0, PAID
    assert amounts(claims["paid"]) == {
        "status": "PAID",
        "paid": D("34.25"),
        "adjusted": D("0"),
        "patient": D("0"),
        "reversed": D("0"),
        "balance": D("0"),
    }
    # the denied claim: nothing paid, CO-29 denied 34.00 (summed over both lines), DENIED
    assert amounts(claims["denied"])["status"] == "DENIED"
    assert amounts(claims["denied"])["balance"] == D("34.00")
    denial = Denial.objects.get(claim=claims["denied"])
    assert (denial.group_code, denial.carc, denial.amount, denial.status) == (
        "CO",
        "29",
        D("34.00"),
        "OPEN",
    )
    # the partly paid claim: 11.50 paid, CO-251 22.75 denied with remark N206, PARTIALLY_PAID
    partial = amounts(claims["partial"])
    assert (partial["status"], partial["paid"], partial["balance"]) == (
        "PARTIALLY_PAID",
        D("11.50"),
        D("22.75"),
    )
    denial = Denial.objects.get(claim=claims["partial"])
    assert (denial.carc, denial.rarcs, denial.amount) == ("251", ["N206"], D("22.75"))
    # every cent: paid + open denials = billed over the three claims; the BPR total is the paid
    paid = sum(PaymentApplication.objects.values_list("amount", flat=True), D("0"))
    denied = sum(Denial.objects.values_list("amount", flat=True), D("0"))
    assert paid == remittance.payment_amount == D("45.75")
    assert paid + denied == sum(c.billed_amount for c in claims.values())
    assert remittance.warnings == []


def test_resent_835_posts_nothing_twice(world, owner):
    # given the sample already loaded
    claims = sample_claims(world.tenant)
    load(owner, sample_rows())
    before = PaymentApplication.objects.count(), Denial.objects.count(), RC.objects.count()
    # when the same file arrives again
    batch = load(owner, sample_rows())
    # then every row is SKIPPED and the balances did not move
    assert (batch.skipped, batch.success, batch.error) == (3, 0, 0)
    after = PaymentApplication.objects.count(), Denial.objects.count(), RC.objects.count()
    assert after == before
    assert amounts(claims["paid"])["balance"] == D("0")


def test_a_claim_payment_repeated_within_one_file_is_skipped(world, owner):
    # given one claim
    claims = sample_claims(world.tenant)
    rows = sample_rows()
    # when a file lists the first claim payment twice
    batch = load(owner, [rows[0], rows[0]])
    # then the second is SKIPPED and the claim was paid once
    statuses = sorted(BatchRecord.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == ["SKIPPED", "SUCCESS"]
    assert amounts(claims["paid"])["paid"] == D("34.25")


def test_a_repeat_under_another_key_is_refused_not_posted(world, owner):
    # given the sample loaded with the default key
    sample_claims(world.tenant)
    load(owner, sample_rows()[:1])
    # when the same claim payment is sent keyed on other columns (so ingestion does not skip it)
    batch = load(owner, sample_rows()[:1], idempotency_key_fields=["payment_date"])
    # then the row is an error saying it was already loaded, and nothing was posted again
    record = BatchRecord.objects.get(batch=batch)
    assert record.status == "ERROR"
    assert "already loaded" in record.error_detail
    assert PaymentApplication.objects.count() == 1


def test_shared_patient_control_number_alone_does_not_auto_match(world, owner):
    # given two claims sharing the number, neither with the remittance's member
    p = payer(world.tenant)
    claim(world.tenant, "CLM-1", payer_obj=p, member_id="OTHER1", billed="34.25")
    claim(world.tenant, "CLM-2", payer_obj=p, member_id="OTHER2", billed="34.25")
    # when a payment names only that number
    load(owner, sample_rows()[:1])
    # then it waits in the queue with both candidates ranked, nothing posted
    rc = RC.objects.get()
    assert rc.match_state == RC.MatchState.UNMATCHED
    assert len(rc.candidates) == 2
    assert rc.candidates[0]["score"] == "0.65"
    assert set(rc.candidates[0]["agreed"]) == {
        "patient_control_number",
        "billed_amount",
        "service_date",
    }
    assert PaymentApplication.objects.count() == 0


def test_threshold_boundary_from_tenant_settings(world, owner):
    # given the claim agrees on everything but the service date (score 0.90)
    p = payer(world.tenant)
    from datetime import date

    c = claim(world.tenant, "CLM-1", payer_obj=p, member_id="LL99999L", billed="34.25",
              day=date(2010, 2, 1))  # fmt: skip
    # when the tenant's threshold is just above that score
    ClaimsSettings.objects.create(tenant=world.tenant, match_threshold=D("0.91"))
    load(owner, sample_rows()[:1])
    # then the line waits
    assert RC.objects.get().match_state == RC.MatchState.UNMATCHED
    assert amounts(c)["balance"] == D("34.25")
    # and at exactly the score it matches
    ClaimsSettings.objects.filter(tenant=world.tenant).update(match_threshold=D("0.90"))
    row = sample_rows()[0] | {"payer_claim_control_number": "NEW-PCCN"}
    load(owner, [row])
    assert RC.objects.get(payer_claim_control_number="NEW-PCCN").claim == c
    assert amounts(c)["status"] == "PAID"


def test_other_payers_claims_are_never_candidates(world, owner):
    # given the sample's claim billed to another payer
    other = payer(world.tenant, code="ACME", name="Acme")
    claim(world.tenant, "CLM-1", payer_obj=other, member_id="LL99999L", billed="34.25")
    payer(world.tenant)
    # when the payment arrives from NYSDOH
    load(owner, sample_rows()[:1])
    # then there is no candidate at all
    rc = RC.objects.get()
    assert (rc.match_state, rc.candidates) == (RC.MatchState.UNMATCHED, [])


def test_adjustments_and_patient_responsibility_post_on_a_paid_claim(world, owner):
    # given a claim of 150.00
    p = payer(world.tenant)
    c = claim(world.tenant, "CLM-1", payer_obj=p, member_id="M1", billed="150.00", pcn="PCN-1")
    # when the payer pays 100, adjusts CO-45 30 and puts PR-2 20 on the patient
    row = sample_rows()[0] | {
        "patient_control_number": "PCN-1",
        "member_id": "M1",
        "charge_amount": "150.00",
        "paid_amount": "100.00",
        "patient_responsibility": "20.00",
        "adjustments": "CO-45:30.00;PR-2:20.00",
    }
    load(owner, [row])
    # then balance 0, PAID, each amount in its kind
    got = amounts(c)
    assert (got["paid"], got["adjusted"], got["patient"], got["balance"]) == (
        D("100.00"),
        D("30.00"),
        D("20.00"),
        D("0.00"),
    )
    assert got["status"] == "PAID"
    adj = PaymentApplication.objects.get(kind="ADJUSTMENT")
    assert (adj.group_code, adj.carc) == ("CO", "45")


def test_unbalanced_claim_payment_is_a_warning_on_the_remittance(world, owner):
    # given a claim
    p = payer(world.tenant)
    claim(world.tenant, "CLM-1", payer_obj=p, member_id="LL99999L", billed="34.25")
    # when CLP03 is not CLP04 plus the adjustments
    load(owner, [sample_rows()[0] | {"paid_amount": "30.00"}])
    # then it still posts, and the remittance lists the problem
    warnings = Remittance.objects.get().warnings
    assert any("charge 34.25 is not paid 30.00" in w for w in warnings)


def test_unknown_payer_is_a_row_error_naming_the_code(world, owner):
    # given no payer XYZ
    payer(world.tenant)
    # when a row names it
    batch = load(owner, [sample_rows()[0] | {"payer_code": "XYZ"}])
    # then the row is an error naming the field and nothing is stored
    record = BatchRecord.objects.get(batch=batch)
    assert record.status == "ERROR"
    assert "payer_code: expected a known payer, found 'XYZ'" in record.error_detail
    assert RC.objects.count() == 0


def test_loading_writes_audit_entries_for_matches_and_status_changes(world, owner):
    # given the sample's claims
    sample_claims(world.tenant)
    # when the sample loads
    load(owner, sample_rows())
    # then each claim status change is in the audit trail, and the automatic matches with it
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("Claim.settle") == 3
    loaded = AuditEntry.objects.get(action="REMITTANCE_CLAIMS_LOADED")
    assert (loaded.payload["claims"], loaded.payload["matched_auto"]) == (3, 3)
    matched = {claim for _, claim in loaded.payload["matches"]}
    assert matched == set(Claim.objects.values_list("id", flat=True))


def test_claim_page_links_each_application_to_its_remittance_and_lists_denials(world, owner):
    # given the sample 835 posted against its three claims
    claims = sample_claims(world.tenant)
    load(owner, sample_rows())
    remittance = Remittance.objects.get()
    # when the partly paid claim's page is opened
    html = world.client(S.Role.VIEWER).get(f"/claims/{claims['partial'].number}/").content.decode()
    # then its payment links to the remittance by trace, and its CO-251 denial is listed
    assert f'href="/claims/remittances/{remittance.pk}/"' in html
    assert ">10100000000</a>" in html
    denials = html[html.index('id="claim-denials"') :]
    assert "CO-251" in denials and "N206" in denials and "$22.75" in denials
