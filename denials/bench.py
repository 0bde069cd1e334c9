"""`manage.py bench remittance --claims N`: load, match and post a remittance of N claim payments.

A fresh tenant gets one payer, N members and N SUBMITTED claims (written with COPY, not timed,
no audit entries: bench data). The remittance pays every claim once: most in full, one in 50
partly with CO-45 and PR-2, one in 50 denied (CLP02 4, CO-29), and one in 100 names a number and
a member no claim has (it waits in the queue). The clock covers the upload and the whole batch in
this process (`batch_ingest_file` + `batch_run_inline`, as `ingest --sync`): reading the records,
storing the remittance claims, blocking and scoring candidates, the automatic matches, the
applications, the denials, the claim status transitions and their audit entries.

The file is an X12 835 when the REMITTANCE kind has its 835 reader (after the merge), else the
CSV equivalent (`--format csv` forces it).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum

from core.bench import Bench, Timer, peak_rss_mb, register_bench
from core.bulk import insert_rows
from core.services import tenant_create

DAY = date(2026, 10, 5)
X12_ID = "BENCHPAYER"


def _args(parser) -> None:
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--format", choices=["auto", "x12", "csv"], default="auto")


def _kind(n: int) -> str:
    if n % 100 == 99:
        return "unknown"
    if n % 50 == 7:
        return "denied"
    if n % 50 == 13:
        return "partial"
    return "paid"


def _billed(n: int) -> Decimal:
    return Decimal(100 + n % 400) + Decimal(n % 100) / 100


def _setup(tenant, claims: int):
    from billing.models import Member, Payer
    from denials.models import Claim

    payer = Payer.objects.create(
        tenant=tenant, code="BENCH", name="Bench payer", x12_payer_id=X12_ID
    )
    with transaction.atomic():
        insert_rows(
            Member,
            ("tenant", "external_id", "first_name", "last_name", "birth_date"),
            ((tenant.pk, f"M{n:08d}", "Bench", "Member", date(1980, 1, 1)) for n in range(claims)),
        )
    members = dict(Member.objects.filter(tenant=tenant).values_list("external_id", "id"))
    now = datetime.now(UTC)
    with transaction.atomic():
        insert_rows(
            Claim,
            (
                "tenant",
                "number",
                "patient_control_number",
                "payer",
                "member",
                "service_date",
                "service_date_to",
                "billed_amount",
                "status",
                "built_at",
                "submitted_at",
                "interchange_control_number",
                # COPY writes NULL into a column it is not given: the model defaults of the
                # columns added by the denial work (no database default) are given explicitly
                "frequency_code",
                "original_reference",
                "payer_sequence",
                "prior_payer_paid",
                "prior_adjustments",
                "subscriber_id",
                "authorization",
            ),
            (
                (
                    tenant.pk,
                    f"CLM-{n:08d}",
                    f"PCN{n:08d}",
                    payer.pk,
                    members[f"M{n:08d}"],
                    DAY,
                    DAY,
                    _billed(n),
                    Claim.Status.SUBMITTED,
                    now,
                    now,
                    "000000001",
                    "1",
                    "",
                    "P",
                    Decimal(0),
                    [],
                    "",
                    "",
                )
                for n in range(claims)
            ),
        )
    if connection.vendor == "postgresql":  # as autovacuum would, before anyone reads them
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE billing_member; ANALYZE denials_claim")
    return payer


def _payment(n: int) -> dict:
    """One claim payment: number, member, status, charge, paid, adjustments."""
    billed = _billed(n)
    kind = _kind(n)
    pcn, member = (
        (f"NOPE{n:08d}", f"X{n:08d}")
        if kind == "unknown"
        else (
            f"PCN{n:08d}",
            f"M{n:08d}",
        )
    )
    if kind == "denied":
        return {"pcn": pcn, "member": member, "status": "4", "charge": billed, "paid": Decimal(0),
                "adj": [("CO", "29", billed)]}  # fmt: skip
    if kind == "partial":
        paid = (billed * Decimal("0.7")).quantize(Decimal("0.01"))
        pr = Decimal("10.00")
        return {"pcn": pcn, "member": member, "status": "1", "charge": billed, "paid": paid,
                "adj": [("CO", "45", billed - paid - pr), ("PR", "2", pr)]}  # fmt: skip
    return {"pcn": pcn, "member": member, "status": "1", "charge": billed, "paid": billed,
            "adj": []}  # fmt: skip


def remittance_csv(claims: int) -> tuple[bytes, Decimal]:
    """The CSV equivalent: one REMITTANCE record per claim payment; and the payment total."""
    import io

    from core.csvsafe import writer as csv_writer
    from denials.remit_rows import COLUMNS

    payments = [_payment(n) for n in range(claims)]
    total = sum((p["paid"] for p in payments), Decimal(0))
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n, p in enumerate(payments):
        adj = ";".join(f"{g}-{c}:{a}" for g, c, a in p["adj"])
        values = {
            "payer_code": "BENCH",
            "trace_number": "BENCHTRACE1",
            "payment_amount": str(total),
            "payment_method": "ACH",
            "payment_date": "2026-11-02",
            "patient_control_number": p["pcn"],
            "status_code": p["status"],
            "charge_amount": str(p["charge"]),
            "paid_amount": str(p["paid"]),
            "patient_responsibility": str(sum((a for g, _, a in p["adj"] if g == "PR"), 0)),
            "payer_claim_control_number": f"PCCN{n:09d}",
            "member_id": p["member"],
            "service_date": DAY.isoformat(),
            "adjustments": adj,
        }
        writer.writerow([values.get(c, "") for c in COLUMNS])
    return out.getvalue().encode(), total


def remittance_835(claims: int) -> tuple[bytes, Decimal]:
    """An X12 835 (005010X221A1) with one CLP (and one SVC line) per claim payment."""
    payments = [_payment(n) for n in range(claims)]
    total = sum((p["paid"] for p in payments), Decimal(0))
    day = DAY.strftime("%Y%m%d")
    body = [
        "ST*835*0001",
        f"BPR*I*{total}*C*ACH*CCP*01*111000025*DA*123456*1512345678**01*999988880*DA*98765*20261102",
        f"TRN*1*BENCHTRACE1*1{X12_ID[:9]}",
        "DTM*405*20261102",
        f"N1*PR*BENCH PAYER*XV*{X12_ID}",
        "N3*1 PAYER WAY",
        "N4*SPRINGFIELD*IL*62701",
        "PER*BL*PROVIDER SERVICES*TE*8005550100",
        "N1*PE*BENCH PROVIDER*XX*1234567893",
        "LX*1",
    ]
    for n, p in enumerate(payments):
        pr = sum((a for g, _, a in p["adj"] if g == "PR"), Decimal(0))
        body.append(
            f"CLP*{p['pcn']}*{p['status']}*{p['charge']}*{p['paid']}*{pr or ''}*12*PCCN{n:09d}*11"
        )
        body.append(f"NM1*QC*1*MEMBER*BENCH****MI*{p['member']}")
        body.append(f"DTM*232*{day}")
        body.append(f"SVC*HC:99213*{p['charge']}*{p['paid']}**1")
        body.append(f"DTM*472*{day}")
        for g, c, a in p["adj"]:
            body.append(f"CAS*{g}*{c}*{a}")
    body.append(f"SE*{len(body) + 1}*0001")
    head = (
        "ISA*00*          *00*          *ZZ*BENCHPAYER     *ZZ*BENCHPROV      *261102*1200*^*00501"
        "*000000001*0*P*:"
    )
    text = "~\n".join([head, "GS*HP*BENCHPAYER*BENCHPROV*20261102*1200*1*X*005010X221A1", *body,
                       "GE*1*1", "IEA*1*000000001"]) + "~\n"  # fmt: skip
    return text.encode(), total


def _run(*, claims: int, format: str = "auto", **_) -> dict:
    from denials import ingest_remittance
    from denials.models import Claim, Denial, PaymentApplication, RemittanceClaim
    from ingestion import services

    tenant = tenant_create(slug=f"bench-remit-{int(time.time())}", name="bench")
    from core.actors import Actor

    actor = Actor.system_for(tenant)
    with Timer() as setup:
        _setup(tenant, claims)
    x12 = format == "x12" or (format == "auto" and ingest_remittance.X12_READER is not None)
    content, total = remittance_835(claims) if x12 else remittance_csv(claims)
    with Timer() as load:
        batch = services.batch_ingest_file(
            actor=actor,
            kind="REMITTANCE",
            filename="bench.835" if x12 else "bench.csv",
            content=content,
            enqueue=False,
        )
        batch = services.batch_run_inline(batch_id=batch.pk)
    states = dict(
        RemittanceClaim.objects.filter(tenant=tenant)
        .values_list("match_state")
        .annotate(n=Count("id"))
    )
    paid = PaymentApplication.objects.filter(tenant=tenant, kind="PAYMENT").aggregate(
        s=Sum("amount")
    )["s"]
    statuses = dict(
        Claim.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id"))
    )
    return {
        "bench": "remittance",
        "database": connection.vendor,
        "format": "x12" if x12 else "csv",
        "claims": claims,
        "bytes": len(content),
        "setup_seconds": setup.seconds,
        "load_match_post_seconds": load.seconds,
        "batch": {
            "status": batch.status,
            "success": batch.success,
            "error": batch.error,
            "skipped": batch.skipped,
            "failure": batch.failure[:200],
        },
        "match_states": states,
        "claim_statuses": statuses,
        "payments_posted": str(paid),
        "payments_expected": str(
            total
            - sum((_payment(n)["paid"] for n in range(claims) if _kind(n) == "unknown"), Decimal(0))
        ),  # fmt: skip
        "denials": Denial.objects.filter(tenant=tenant).count(),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tenant": tenant.slug,
    }


def register() -> None:
    """Offer the remittance benchmark."""
    register_bench(
        Bench("remittance", "load, match and post an 835 of N claim payments", _args, _run)
    )
