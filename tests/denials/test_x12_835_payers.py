"""Which payer an 835 comes from (issue 13, build 5): Payer.x12_payer_id against N1*PR04 or
TRN03, then the exact name; the upload's payer overrides; an unknown payer fails the batch
naming the identifier, with nothing stored. The REMITTANCE kind itself comes with the posting
part: here a stand-in handler with the real 835 reader goes through ingestion."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from billing.models import Payer
from denials.x12_835 import read_835_for_ingestion
from ingestion import registry, services
from ingestion.models import Batch, BatchRecord
from ingestion.parsers import FileRejected
from ingestion.registry import RecordHandler
from tests.denials import x835_files as f

REMITTANCE = "REMITTANCE"


@pytest.fixture
def payers(world):
    """Tenant A's payers; tenant B has one that names itself like A's files."""
    Payer.objects.create(
        tenant=world.tenant, code="ACME", name="ACME HEALTH", x12_payer_id="ACME01"
    )
    Payer.objects.create(
        tenant=world.tenant, code="NWIND", name="Northwind", x12_payer_id="1888888888"
    )
    Payer.objects.create(tenant=world.tenant, code="GLOBEX", name="GLOBEX CARE")
    Payer.objects.create(
        tenant=world.other_tenant, code="OTHER", name="OTHER PAYER", x12_payer_id="OTH99"
    )
    return world


def read(world, content: bytes, **options):
    return read_835_for_ingestion(content, {"_tenant_id": world.tenant.pk, **options})


def codes(rows) -> list[str]:
    return [r.data["payer_code"] for r in rows]


def refusal(world, content: bytes, **options) -> str:
    with pytest.raises(FileRejected) as caught:
        read(world, content, **options)
    return caught.value.message


def test_payer_found_by_n1_pr04(payers):
    # given a file whose N1*PR04 is ACME's X12 payer id
    # then its claims are ACME's
    assert codes(read(payers, f.simple_file(payer_id="ACME01", originator="1"))) == ["ACME"]


def test_payer_found_by_trn03_when_n1_pr04_is_unknown(payers):
    # given N1*PR04 that no payer carries, and TRN03 = Northwind's X12 payer id
    content = f.simple_file(payer="SOMEONE", payer_id="XX", originator="1888888888")
    assert codes(read(payers, content)) == ["NWIND"]


def test_payer_found_by_exact_name_last(payers):
    # given no identifier that fits, and N1*PR02 exactly a payer's name
    content = f.simple_file(payer="GLOBEX CARE", payer_id="", originator="1")
    assert codes(read(payers, content)) == ["GLOBEX"]
    # but a name that differs in case is not the same payer
    lower = f.simple_file(payer="Globex Care", payer_id="", originator="1")
    assert "payer name N1*PR02 'Globex Care'" in refusal(payers, lower)


def test_upload_payer_overrides_the_file(payers):
    # given a file that says ACME, uploaded as Globex's
    rows = read(payers, f.simple_file(payer_id="ACME01"), payer_code="GLOBEX")
    assert codes(rows) == ["GLOBEX"]
    # and the code may be typed in another case
    assert codes(read(payers, f.simple_file(), payer_code="globex")) == ["GLOBEX"]


def test_upload_payer_must_be_the_tenants(payers):
    # given the other tenant's payer code as the upload's payer
    message = refusal(payers, f.simple_file(), payer_code="OTHER")
    assert "the payer code 'OTHER' given with the upload is not one of this tenant's" in message


def test_unknown_payer_is_refused_naming_what_was_looked_for(payers):
    # given a payer only the other tenant knows
    content = f.simple_file(payer="OTHER PAYER X", payer_id="OTH99", originator="1777")
    message = refusal(payers, content)
    # then refused, naming every identifier tried and how to fix it
    assert "no payer of this tenant fits" in message
    assert "N1*PR04 'OTH99'" in message and "TRN03 '1777'" in message
    assert "N1*PR02 'OTHER PAYER X'" in message and "--payer" in message


def test_two_payers_with_one_id_are_refused_as_ambiguous(payers):
    # given a second payer carrying ACME's X12 payer id
    Payer.objects.create(tenant=payers.tenant, code="ACME2", name="Acme bis", x12_payer_id="ACME01")
    message = refusal(payers, f.simple_file(payer_id="ACME01"))
    assert "fits several payers (ACME, ACME2)" in message


def test_each_transaction_resolves_its_own_payer(payers):
    # given one file with a payment from ACME and one from Northwind
    content = f.interchange(
        [
            f.transaction([f.claim("A", pccn="P1")], control="0001", payer_id="ACME01"),
            f.transaction(
                [f.claim("B", pccn="P2")],
                control="0002",
                trace="EFT2",
                payer="NW",
                payer_id="",
                originator="1888888888",
            ),
        ]
    ).encode()
    assert codes(read(payers, content)) == ["ACME", "NWIND"]


# --- through ingestion (the upload's tenant reaches the reader) --------------------------------


@pytest.fixture
def remittance_kind():
    """A stand-in REMITTANCE handler: the real 835 reader, a process that keeps what it got."""
    from denials.remit_rows import COLUMNS, DEFAULT_KEY, REQUIRED

    written: list[dict] = []
    original = registry.get_handler(REMITTANCE)

    def process(ctx, records):
        written.extend(r.data for r in records)
        return {}

    registry.register_handler(
        RecordHandler(
            kind=REMITTANCE,
            columns=COLUMNS,
            required_columns=REQUIRED,
            default_key_fields=DEFAULT_KEY,
            process=process,
            x12=read_835_for_ingestion,
        )
    )
    try:
        yield written
    finally:
        if original is not None:
            registry.register_handler(original)
        else:
            registry._HANDLERS.pop(REMITTANCE, None)


def upload(world, content: bytes, payer: str = "") -> Batch:
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind=REMITTANCE,
        filename="remit.835",
        content=content,
        options={"payer_code": payer},
        enqueue=False,
    )
    if batch.is_active:
        batch = services.batch_run_inline(batch_id=batch.pk)
    return batch


def test_upload_resolves_the_payer_of_the_uploads_tenant(payers, remittance_kind):
    # given ACME's 835 uploaded by tenant A
    batch = upload(payers, f.simple_file(payer_id="ACME01"))
    # then the batch loads its one claim as ACME's
    assert (batch.format, batch.status, batch.total, batch.success) == ("X12", "COMPLETED", 1, 1)
    assert [d["payer_code"] for d in remittance_kind] == ["ACME"]


def test_upload_cannot_point_the_reader_at_another_tenant(payers, remittance_kind):
    # given an upload whose options try to name tenant B (whose payer the file names)
    batch = services.batch_ingest_file(
        actor=payers.actor(),
        kind=REMITTANCE,
        filename="remit.835",
        content=f.simple_file(payer="OTHER PAYER", payer_id="OTH99"),
        options={"_tenant_id": payers.other_tenant.pk},
        enqueue=False,
    )
    # then the upload's own tenant is used: no payer fits, the batch FAILED
    assert batch.status == Batch.Status.FAILED
    assert "N1*PR04 'OTH99'" in batch.failure


def test_unknown_payer_fails_the_batch_and_stores_nothing(payers, remittance_kind):
    # given an 835 from a payer tenant A does not know
    batch = upload(payers, f.simple_file(payer="NOBODY", payer_id="NOPE", originator="1"))
    # then the batch is FAILED naming the identifier; no record stored, nothing processed
    assert batch.status == Batch.Status.FAILED
    assert "N1*PR04 'NOPE'" in batch.failure
    assert BatchRecord.objects.filter(batch=batch).count() == 0
    assert remittance_kind == []


GOOD = f.simple_file().decode()


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (
            GOOD.replace("IEA*1*000000101", "IEA*1*000000999"),
            "IEA id=000000999 does not match ISA id=000000101",
        ),
        (GOOD.replace("SE*16*0001", "SE*9*0001"), "SE count of 9 for SE02=0001 is wrong"),
        (
            f.interchange([f.transaction([f.claim()])], svc_comp=">"),
            "component separator ':'",
        ),
        (
            GOOD.replace("GE*1*101~", "CLP*X*1*1*1**12*P9*11~\nGE*1*101~"),
            "a claim payment (CLP) outside a transaction",
        ),
    ],
    ids=["isa13-vs-iea02", "segment-count", "component-separator", "clp-outside"],
)
def test_broken_835_fails_the_batch_and_stores_nothing(payers, remittance_kind, broken, named):
    # given a broken 835 of a known payer
    batch = upload(payers, broken.encode())
    # then FAILED, naming the problem; no record stored, nothing processed
    assert batch.status == Batch.Status.FAILED
    assert named in batch.failure
    assert BatchRecord.objects.filter(batch=batch).count() == 0
    assert remittance_kind == []


def test_upload_with_payer_option_loads_the_shared_sample(payers, remittance_kind):
    # given the shared sample (payer NYSDOH, unknown here) uploaded as ACME's
    batch = upload(payers, f.SAMPLE.read_bytes(), payer="ACME")
    # then its three claims load as ACME's, with their amounts
    assert (batch.status, batch.success) == ("COMPLETED", 3)
    assert [(d["payer_code"], d["paid_amount"]) for d in remittance_kind] == [
        ("ACME", "34.25"),
        ("ACME", "0.00"),
        ("ACME", "11.50"),
    ]


def test_a_resent_835_loads_nothing_twice(payers, remittance_kind):
    # given ACME's 835 loaded once
    content = f.simple_file(payer_id="ACME01")
    upload(payers, content)
    # when the same payment arrives again, alone and appended twice in one file
    again = upload(payers, content)
    doubled = upload(payers, content + content.replace(b"000000101", b"000000102"))
    # then every repeat is SKIPPED (same payer, trace and payer claim control number)
    assert (again.total, again.success, again.skipped) == (1, 0, 1)
    assert (doubled.total, doubled.success, doubled.skipped) == (2, 0, 2)
    assert len(remittance_kind) == 1


def test_the_same_payment_twice_in_a_new_file_loads_once(payers, remittance_kind):
    # given a first-time file holding one payment twice (two interchanges)
    content = f.simple_file(payer_id="ACME01")
    batch = upload(payers, content + content)
    # then the first is loaded, the repeat SKIPPED
    assert (batch.total, batch.success, batch.skipped) == (2, 1, 1)
    assert len(remittance_kind) == 1


def test_ingest_command_loads_an_835_with_the_payer_named(payers, remittance_kind, tmp_path):
    # given the shared sample on disk and ACME named on the command line
    path = tmp_path / "sample.835"
    path.write_bytes(f.SAMPLE.read_bytes())
    out = io.StringIO()
    # when `manage.py ingest --kind remittance FILE --payer acme --sync` runs
    call_command(
        "ingest",
        "--tenant",
        payers.tenant.slug,
        "--kind",
        "remittance",
        str(path),
        "--payer",
        "acme",
        "--sync",
        stdout=out,
    )
    # then the batch loads the sample's three claims as ACME's
    result = json.loads(out.getvalue())
    assert (result["status"], result["total"], result["success"]) == ("COMPLETED", 3, 3)
    assert {d["payer_code"] for d in remittance_kind} == {"ACME"}
