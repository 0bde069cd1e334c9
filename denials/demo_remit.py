"""The receivables part of the demo (issue 13, item 13), after claims are built and exported.

The shared 835 sample is uploaded as the payer sent it: its three claim payments match the
three claims built for them and post (paid in full, denied CO-29, partly paid with CO-251 and
remark N206). Then a CSV remittance from NORTHWIND whose one line names a submitted claim's
patient control number but no member and another amount: it scores below the threshold and
waits in the receivables queue with that claim as its best candidate. Finally the nightly jobs
run once and the reporting views are refreshed, so job health and reconciliation have figures.
Idempotent: each file is loaded once.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant

ORDER = 44
SAMPLE = Path(__file__).with_name("demo_data") / "835-x12parser-profee.edi"
SAMPLE_NAME = "demo-835-nysdoh.edi"
QUEUED_NAME = "demo-remittance-northwind.csv"


def _upload(tenant: Tenant, filename: str, content: bytes) -> str:
    from ingestion import services
    from ingestion.models import Artifact

    if Artifact.objects.filter(tenant=tenant, kind="REMITTANCE", filename=filename).exists():
        return f"{filename} already loaded"
    actor = Actor.system_for(tenant)
    batch = services.batch_ingest_file(
        actor=actor, kind="REMITTANCE", filename=filename, content=content, enqueue=False
    )
    batch = services.batch_run_inline(batch_id=batch.pk)
    return f"{filename}: {batch.status}, {batch.success} claim payments"


def queued_remittance(tenant: Tenant) -> bytes | None:
    """A CSV remittance whose line resembles a submitted NORTHWIND claim without matching it."""
    from denials.models import Claim
    from denials.remit_rows import COLUMNS

    claim = (
        Claim.objects.filter(tenant=tenant, payer__code="NORTHWIND", status="SUBMITTED")
        .order_by("pk")
        .first()
    )
    if claim is None:
        return None
    paid = (claim.billed_amount * Decimal("0.8")).quantize(Decimal("0.01"))
    row = {
        "payer_code": "NORTHWIND",
        "trace_number": "DEMO-EFT-0001",
        "payment_amount": str(paid),
        "payment_method": "ACH",
        "payment_date": claim.service_date.isoformat(),
        "patient_control_number": claim.patient_control_number,
        "status_code": "1",
        # billed 10 % more than the claim, and no member id: the matcher will not decide alone
        "charge_amount": str((claim.billed_amount * Decimal("1.1")).quantize(Decimal("0.01"))),
        "paid_amount": str(paid),
        "payer_claim_control_number": "DEMO-PCCN-0001",
        "service_date": claim.service_date.isoformat(),
    }
    values = [row.get(column, "") for column in COLUMNS]
    # plain values (no comma, quote or formula sign): an input file, written as a partner would
    return ("\n".join([",".join(COLUMNS), ",".join(values)]) + "\n").encode()


def load_remittance_demo(tenant: Tenant) -> str:
    """The sample 835 posted, one CSV line waiting in the queue, nightly jobs and views run."""
    from denials.services.jobs import jobs_run_nightly

    said = [_upload(tenant, SAMPLE_NAME, SAMPLE.read_bytes())]
    content = queued_remittance(tenant)
    if content is not None:
        said.append(_upload(tenant, QUEUED_NAME, content))
    if all(line.endswith("already loaded") for line in said):
        return "; ".join(said)  # a reload adds nothing, not even job runs
    # the nightly jobs include the reporting views' refresh; the demo runs them once at load
    runs = jobs_run_nightly(tenant=tenant, force=True)
    said.append(f"{len(runs)} nightly jobs run")
    return "; ".join(said)


def register() -> None:
    """Add remittances, the queue and the nightly jobs to the demo."""
    register_demo_loader("denials-remittances", ORDER, load_remittance_demo)
