"""X12 834 enrollment files: parsing (ingestion.x12) and loading as ENROLLMENT batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from billing.models import EligibilityAssertion, Member
from ingestion import services
from ingestion.models import Batch, BatchRecord
from ingestion.parsers import FileRejected
from ingestion.x12 import parse_834
from tests.ingestion.factories import make_payers

SAMPLE = Path(__file__).parent / "data" / "834-pyx12-lui-id.txt"


def sample() -> bytes:
    return SAMPLE.read_bytes()


def terminated_834(termination: str = "20070331") -> bytes:
    """The sample turned into a termination (INS03 024) with a coverage end date (DTP*349)."""
    text = sample().decode()
    text = text.replace("INS*Y*18*030*XN*A*C**FT~", "INS*Y*18*024*07*A*C**TE~")
    text = text.replace("DTP*348*D8*20070301~", f"DTP*348*D8*20070301~\nDTP*349*D8*{termination}~")
    text = text.replace("SE*20*0001~", "SE*21*0001~")
    return text.encode()


def two_member_834() -> bytes:
    """The sample with a second subscriber (its own INS loop, two coverages)."""
    text = sample().decode()
    second = (
        "INS*Y*18*021*28*A*E**FT~\n"
        "REF*0F*00381111~\n"
        "NM1*IL*1*ROE*JANE****34*999991111~\n"
        "DMG*D8*19900115*F~\n"
        "HD*021**HLT~\n"
        "DTP*348*D8*20070401~\n"
        "HD*021**DEN~\n"
        "DTP*348*D8*20070501~\n"
    )
    text = text.replace("SE*20*0001~", second + "SE*28*0001~")
    return text.encode()


# --- parse_834 --------------------------------------------------------------------------------


def test_parse_834_sample_gives_one_eligibility_row():
    # given the public pyx12 sample (one subscriber addition)
    # when it is parsed
    rows = parse_834(sample())

    # then there is exactly one row with the member's coverage, in the CSV's columns
    assert len(rows) == 1
    row = rows[0]
    assert row.problem == ""
    assert row.row_number == 8  # the INS segment is the file's 8th segment
    assert row.data == {
        "member_id": "00389999",
        "first_name": "JOHN",
        "last_name": "DOE",
        "birth_date": "1967-03-30",
        "payer_code": "999999999",
        "source_kind": "FULL_FILE",
        "file_date": "2007-03-05",
        "status": "ACTIVE",
        "effective_date": "2007-03-01",
        "termination_date": "",
        "benefit_code": "AK",
        "benefit_suffix": "",
    }


def test_parse_834_payer_and_source_kind_overrides():
    # given an upload naming its payer and source kind
    # when the sample is parsed with them
    rows = parse_834(sample(), payer_code="ACME", source_kind="AMENDED_FILE")

    # then they replace what the file says
    assert rows[0].data["payer_code"] == "ACME"
    assert rows[0].data["source_kind"] == "AMENDED_FILE"


def test_parse_834_termination_gives_terminated_with_last_covered_day():
    # given a member terminated (INS03 024) with coverage ending 2007-03-31
    # when parsed
    (row,) = parse_834(terminated_834())

    # then the row is TERMINATED with that termination date
    assert row.data["status"] == "TERMINATED"
    assert row.data["effective_date"] == "2007-03-01"
    assert row.data["termination_date"] == "2007-03-31"


def test_parse_834_termination_before_start_is_cancelled():
    # given a termination whose end precedes its start
    (row,) = parse_834(terminated_834("20070215"))

    # then the coverage never happened: CANCELLED
    assert row.data["status"] == "CANCELLED"


def test_parse_834_one_row_per_coverage():
    # given two subscribers, the second with two HD loops
    rows = parse_834(two_member_834())

    # then one row per coverage, numbered by the member's INS segment
    assert [(r.data["member_id"], r.data["benefit_code"]) for r in rows] == [
        ("00389999", "AK"),
        ("00381111", "HLT"),
        ("00381111", "DEN"),
    ]
    assert rows[1].row_number == rows[2].row_number > rows[0].row_number
    assert [r.data["effective_date"] for r in rows[1:]] == ["2007-04-01", "2007-05-01"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"ISA*garbage~GS*BE~", "not a readable X12 file"),
        (b"ISA*00*  broken~ST*834*1~", "not a readable X12 file"),
        (b"member_id,first_name\nM1,A\n", "not an X12 file"),
    ],
)
def test_parse_834_broken_files_are_refused(raw, expected):
    # given a file that starts like X12 but is broken (or is no X12 at all)
    # when parsed, then it is refused with a reason
    with pytest.raises(FileRejected) as exc:
        parse_834(raw)
    assert expected in exc.value.message


def test_parse_834_other_transaction_set_is_refused():
    # given an X12 file whose transaction set is not 834
    raw = sample().replace(b"ST*834*0001~", b"ST*835*0001~")

    # when parsed, then the refusal names the transaction set
    with pytest.raises(FileRejected) as exc:
        parse_834(raw)
    assert "transaction set 835 is not an 834" in exc.value.message


# --- loading 834 files ------------------------------------------------------------------------


def test_enrollment_834_loads_one_assertion_and_member(world):
    # given a payer coded as the 834's insurer
    payer = make_payers(world.tenant, "999999999")["999999999"]

    # when the sample is ingested as an ENROLLMENT file and processed
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind="ENROLLMENT",
        filename="834_lui_id.txt",
        content=sample(),
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the batch is completed as an X12 batch with one successful record
    assert batch.status == Batch.Status.COMPLETED
    assert batch.format == Batch.Format.X12
    assert (batch.total, batch.processed, batch.success, batch.error, batch.skipped) == (
        1,
        1,
        1,
        0,
        0,
    )
    # and one assertion with the file's values, received when the file arrived
    assertion = EligibilityAssertion.objects.get(tenant=world.tenant)
    assert assertion.payer == payer
    assert assertion.source_kind == "FULL_FILE"
    assert assertion.file_date == dt.date(2007, 3, 5)
    assert assertion.status == "ACTIVE"
    assert assertion.effective_date == dt.date(2007, 3, 1)
    assert assertion.termination_date is None
    assert assertion.benefit_code == "AK"
    assert assertion.received_at == batch.artifact.received_at
    assert assertion.artifact_id == batch.artifact_id
    # and the member is known by the subscriber number
    member = Member.objects.get(tenant=world.tenant)
    assert (member.external_id, member.first_name, member.last_name) == ("00389999", "JOHN", "DOE")
    assert member.birth_date == dt.date(1967, 3, 30)
    assert assertion.member == member


def test_enrollment_834_with_payer_override(world):
    # given the tenant knows the insurer under its own code
    make_payers(world.tenant, "ACME")

    # when the sample is ingested naming that payer
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind="ENROLLMENT",
        filename="834.txt",
        content=sample(),
        options={"payer_code": "ACME"},
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the assertion is for that payer
    assert batch.status == Batch.Status.COMPLETED
    assert EligibilityAssertion.objects.get(tenant=world.tenant).payer.code == "ACME"


def test_enrollment_834_terminated_member_is_loaded_terminated(world):
    # given a payer and an 834 terminating the member
    make_payers(world.tenant, "999999999")

    # when ingested
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind="ENROLLMENT",
        filename="834-term.txt",
        content=terminated_834(),
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the assertion is TERMINATED with its last covered day
    assert batch.status == Batch.Status.COMPLETED
    assertion = EligibilityAssertion.objects.get(tenant=world.tenant)
    assert assertion.status == "TERMINATED"
    assert assertion.termination_date == dt.date(2007, 3, 31)


def test_enrollment_834_unknown_insurer_is_a_row_error(world):
    # given no payer coded as the 834's insurer
    # when the sample is ingested
    batch = services.batch_ingest_file(
        actor=world.actor(), kind="ENROLLMENT", filename="834.txt", content=sample(), enqueue=False
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the row is an error naming the payer, and nothing is written
    assert batch.status == Batch.Status.COMPLETED_WITH_ERRORS
    record = BatchRecord.objects.get(batch=batch)
    assert record.error_detail == "row 8: payer_code: expected a known payer, found '999999999'"
    assert not EligibilityAssertion.objects.exists()
    assert not Member.objects.exists()


def test_enrollment_broken_x12_fails_the_batch(world):
    # given a file starting with ISA that is not readable X12
    # when ingested
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind="ENROLLMENT",
        filename="broken.txt",
        content=b"ISA*00*  this is not x12 at all~ST*834~",
        enqueue=False,
    )

    # then the batch failed saying why, and no record was stored
    assert batch.status == Batch.Status.FAILED
    assert "not a readable X12 file" in batch.failure
    assert not BatchRecord.objects.filter(batch=batch).exists()


def test_x12_sent_for_service_delivery_fails_the_batch(world):
    # given the 834 sample sent as a service-delivery file
    # when ingested
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind="SERVICE_DELIVERY",
        filename="834.txt",
        content=sample(),
        enqueue=False,
    )

    # then the batch failed: X12 is not accepted for that kind
    assert batch.status == Batch.Status.FAILED
    assert batch.failure == "X12 files are not accepted for SERVICE_DELIVERY; send a CSV file"
    assert not BatchRecord.objects.filter(batch=batch).exists()
