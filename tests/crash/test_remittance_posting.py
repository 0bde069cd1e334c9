"""An 835 posting batch survives workers SIGKILLed at random points (issue 17): a fresh cluster
finishes it, every claim payment is stored and posted exactly once on its claim, each claim's
balance is what the 835 says and what its postings sum to, the batch counters tie out and the
tenant's audit chain verifies.

The claims are SUBMITTED; the 835 (one payment, one CLP per claim, built with the reader tests'
X12 builders) pays three in four (one of those with patient responsibility and a contractual
adjustment) and denies the fourth. Its chunks post one after the other (each locks the
remittance), so the batch lasts seconds and the seeded kill lands while chunks are unfinished.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from billing.models import Member, Payer
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from denials.balances import balance_of, with_amounts
from denials.models import Claim, Denial, PaymentApplication, Remittance, RemittanceClaim
from ingestion import services
from ingestion.models import Batch, BatchRecord
from tests.crash.conftest import kill_and_restart
from tests.denials import x835_files as x835

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

CLAIMS = 1000  # 20 chunks of 50 (INGESTION_CHUNK_SIZE in the clusters fixture)
CHUNK = 50
DAY = date(2026, 1, 5)
FINISHED = {Batch.Status.COMPLETED, Batch.Status.COMPLETED_WITH_ERRORS, Batch.Status.FAILED}
D = Decimal


def _billed(n: int) -> Decimal:
    return D(100 + n % 300) + D(n % 100) / 100


def _kind(n: int) -> str:
    return ("paid", "paid", "partial", "denied")[n % 4]


def _claims(tenant) -> Payer:
    """CLAIMS submitted claims of one payer, one member each."""
    p = Payer.objects.create(tenant=tenant, code="ACME", name="Acme Health")
    members = Member.objects.bulk_create(
        Member(
            tenant=tenant,
            external_id=f"R{n:05d}",
            first_name="Test",
            last_name="Person",
            birth_date=date(1980, 1, 1),
        )
        for n in range(CLAIMS)
    )
    Claim.objects.bulk_create(
        Claim(
            tenant=tenant,
            number=f"CLM-{n:06d}",
            patient_control_number=f"PCN{n:06d}",
            payer=p,
            member=m,
            service_date=DAY,
            service_date_to=DAY,
            billed_amount=_billed(n),
        )
        for n, m in enumerate(members)
    )
    Claim.objects.filter(tenant=tenant).update(status=Claim.Status.SUBMITTED)  # test setup only
    return p


def _remittance_835() -> bytes:
    """One payment of a CLP per claim: paid in full, partly (PR-2 and CO-45), or denied."""
    built = []
    for n in range(CLAIMS):
        billed, kind = _billed(n), _kind(n)
        paid, cas, status = billed, [], "1"
        if kind == "partial":
            paid, cas = billed - 15, ["CAS*PR*2*10", "CAS*CO*45*5"]
        elif kind == "denied":
            paid, cas, status = D("0"), [f"CAS*CO*29*{billed}"], "4"
        pr = "10" if kind == "partial" else ""
        line = x835.svc("99213", str(billed), str(paid), DAY.strftime("%Y%m%d"), cas)
        built.append(
            x835.claim(
                f"PCN{n:06d}",
                status=status,
                charge=str(billed),
                paid=str(paid),
                pr=pr,
                pccn=f"PCCN{n:08d}",
                member=f"R{n:05d}",
                lines=[line],
            )
        )
    return x835.interchange([x835.transaction(built, trace="EFT-CRASH-1")]).encode()


def _expected(n: int) -> tuple[str, Decimal, Counter]:
    """(status, balance, applications by kind) of claim n once its payment is posted."""
    billed = _billed(n)
    if _kind(n) == "paid":
        return "PAID", D("0.00"), Counter({"PAYMENT": billed})
    if _kind(n) == "partial":
        applied = {"PAYMENT": billed - 15, "PATIENT_RESPONSIBILITY": D(10)}
        return "PAID", D("0.00"), Counter({**applied, "ADJUSTMENT": D(5)})
    return "DENIED", billed, Counter()


def _batch(pk: int) -> Batch:
    return Batch.objects.get(pk=pk)


@pytest.mark.parametrize("seed", [1, 2])
def test_remittance_posting_survives_a_killed_cluster(world, clusters, seed):
    rng = random.Random(seed)
    owner = world.actor(S.Role.OWNER)
    _claims(world.tenant)

    # given an 835 of 1,000 claim payments queued as a batch for a running cluster
    batch = services.batch_ingest_file(
        actor=owner,
        kind="REMITTANCE",
        filename="remit.835",
        content=_remittance_835(),
        options={"payer_code": "ACME"},
    )
    assert (batch.status, batch.format, batch.total) == (Batch.Status.PROCESSING, "X12", CLAIMS)
    first = clusters()

    # when the cluster is SIGKILLed after a seeded number of claim payments were posted (plus a
    # seeded moment): at least 8 chunks are left then, which take seconds
    # and a fresh cluster is started
    kill_after = rng.randint(1, CLAIMS // CHUNK - 8) * CHUNK
    at_kill, finished = kill_and_restart(
        clusters,
        first,
        rng=rng,
        seed=seed,
        job=lambda: _batch(batch.pk),
        reached=lambda b: b.processed >= kill_after,
        finished=lambda b: b.status in FINISHED,
        jitter=0.2,
        what=f"batch reaching claim payment {kill_after}",
        show=lambda b: f"{b.status} {b.processed}/{b.total}",
    )
    assert at_kill.status == Batch.Status.PROCESSING
    assert at_kill.processed < CLAIMS

    # then every record was loaded once, and the counters tie out
    assert finished.status == Batch.Status.COMPLETED, finished.failure
    records = BatchRecord.objects.filter(batch=batch)
    assert records.count() == CLAIMS
    assert set(records.values_list("status", flat=True)) == {BatchRecord.Status.SUCCESS}
    assert (finished.total, finished.processed, finished.success) == (CLAIMS, CLAIMS, CLAIMS)
    assert (finished.error, finished.skipped, finished.updated) == (0, 0, 0)
    # and one remittance holds every claim payment once, each matched to its own claim
    remittance = Remittance.objects.get(tenant=world.tenant)
    stored = RemittanceClaim.objects.filter(remittance=remittance)
    assert stored.count() == CLAIMS
    assert set(stored.values_list("match_state", flat=True)) == {"MATCHED_AUTO"}
    claims = {c.pk: c for c in with_amounts(Claim.objects.filter(tenant=world.tenant))}
    assert sorted(stored.values_list("claim_id", flat=True)) == sorted(claims)
    # and each claim is posted exactly once: its applications, denials, status and balance are
    # what its payment says, and its balance is what its postings sum to
    applied: dict[int, Counter] = {pk: Counter() for pk in claims}
    for claim_id, kind, amount in PaymentApplication.objects.filter(
        tenant=world.tenant
    ).values_list("claim_id", "kind", "amount"):
        applied[claim_id][str(kind)] += amount
    app_rows = Counter(
        PaymentApplication.objects.filter(tenant=world.tenant).values_list("claim_id", flat=True)
    )
    denials = Counter(Denial.objects.filter(tenant=world.tenant).values_list("claim_id", flat=True))
    wrong = []
    for claim in claims.values():
        n = int(claim.number.removeprefix("CLM-"))
        status, balance, apps = _expected(n)
        got = (
            claim.status,
            claim.balance,
            applied[claim.pk],
            app_rows[claim.pk],
            denials[claim.pk],
        )
        want = (status, balance, apps, len(apps), 1 if _kind(n) == "denied" else 0)
        if got != want or balance_of(claim) != claim.balance:
            wrong.append((claim.number, got, want))
    assert wrong == [], wrong[:5]
    # and the audit chain verifies: the payments logged once each, the batch completed once
    report = verify_chain(world.tenant)
    assert report.ok, report.problem
    loaded = AuditEntry.objects.filter(
        action="REMITTANCE_CLAIMS_LOADED", object_id=str(remittance.pk)
    )
    assert sum(e.payload["claims"] for e in loaded) == CLAIMS
    assert sum(e.payload["matched_auto"] for e in loaded) == CLAIMS
    completed = AuditEntry.objects.filter(action="BATCH_COMPLETED", object_id=str(batch.pk))
    assert completed.count() == 1
