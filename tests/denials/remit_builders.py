"""Claims built directly with the ORM and remittance CSVs, for the posting tests.

The three claim payments of the shared 835 sample (testdata/x12/835-x12parser-profee.edi,
tastypackets/x12-parser, MIT) are written here as the REMITTANCE records the 835 reader makes.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from billing.models import Member, Payer
from denials.models import Claim
from denials.remit_rows import COLUMNS
from ingestion import services
from ingestion.models import Batch

SAMPLE_DAY = date(2010, 1, 1)
PCN = "PATIENT ACCOUNT NUMBER"
TRACE = "10100000000"


def payer(tenant, code="NYSDOH", name="NYSDOH") -> Payer:
    return Payer.objects.get_or_create(tenant=tenant, code=code, defaults={"name": name})[0]


def member(tenant, external_id: str) -> Member:
    return Member.objects.get_or_create(
        tenant=tenant,
        external_id=external_id,
        defaults={"first_name": "Test", "last_name": "Person", "birth_date": date(1980, 1, 1)},
    )[0]


def claim(
    tenant,
    number: str,
    *,
    payer_obj: Payer,
    member_id: str,
    billed: str,
    pcn: str = PCN,
    day: date = SAMPLE_DAY,
    day_to: date | None = None,
) -> Claim:
    """A SUBMITTED claim (no lines: posting never reads them)."""
    c = Claim.objects.create(
        tenant=tenant,
        number=number,
        patient_control_number=pcn,
        payer=payer_obj,
        member=member(tenant, member_id),
        service_date=day,
        service_date_to=day_to or day,
        billed_amount=Decimal(billed),
    )
    Claim.objects.filter(pk=c.pk).update(status=Claim.Status.SUBMITTED)  # test setup only
    c.refresh_from_db()
    return c


def sample_claims(tenant) -> dict[str, Claim]:
    """The three claims the sample 835 pays, as we billed them."""
    p = payer(tenant)
    return {
        "paid": claim(tenant, "CLM-000001", payer_obj=p, member_id="LL99999L", billed="34.25"),
        "denied": claim(tenant, "CLM-000002", payer_obj=p, member_id="LL88888L", billed="34.00"),
        "partial": claim(tenant, "CLM-000003", payer_obj=p, member_id="LL77777L", billed="34.25"),
    }


def _base(**kw) -> dict:
    row = {
        "payer_code": "NYSDOH",
        "trace_number": TRACE,
        "trace_originator": "1000000000",
        "payment_amount": "45.75",
        "payment_method": "ACH",
        "payment_date": "2010-01-01",
        "patient_control_number": PCN,
        "service_date": "2010-01-01",
        "service_date_to": "2010-01-01",
    }
    row.update(kw)
    return row


def sample_rows() -> list[dict]:
    """The sample's three CLPs as REMITTANCE records."""
    return [
        _base(
            status_code="1",
            charge_amount="34.25",
            paid_amount="34.25",
            payer_claim_control_number="1000210000000030",
            member_id="LL99999L",
        ),
        _base(
            status_code="2",
            charge_amount="34",
            paid_amount="0",
            payer_claim_control_number="1000220000000020",
            member_id="LL88888L",
            adjustments="L1/CO-29:12;L2/CO-29:22",
            lines='[{"line":1,"code":"V2020","charge":"12","paid":"0"},'
            '{"line":2,"code":"V2103","charge":"22","paid":"0"}]',
        ),
        _base(
            status_code="2",
            charge_amount="34.25",
            paid_amount="11.5",
            payer_claim_control_number="1000230000000020",
            member_id="LL77777L",
            adjustments="L3/CO-251:2.75;L4/CO-251:20",
            remarks="L3/N206;L4/N206",
            lines='[{"line":1,"paid":"6"},{"line":2,"paid":"5.5"},{"line":3,"paid":"0"},'
            '{"line":4,"paid":"0"}]',
        ),
    ]


def remit_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return out.getvalue().encode()


def load(actor, rows: list[dict], **kwargs) -> Batch:
    """Upload a REMITTANCE CSV and process it in this process."""
    batch = services.batch_ingest_file(
        actor=actor,
        kind="REMITTANCE",
        filename="remit.csv",
        content=remit_csv(rows),
        enqueue=False,
        **kwargs,
    )
    assert batch.status == Batch.Status.PROCESSING, batch.failure
    return services.batch_run_inline(batch_id=batch.pk)
