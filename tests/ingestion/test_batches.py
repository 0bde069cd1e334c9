"""Ingestion batches end to end at the service level (SPEC 8, seed 003)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing.models import EligibilityAssertion, Member, ServiceDeliveryEvent
from core.actors import Actor
from core.audit import verify_chain
from core.exceptions import Conflict, DomainError, NotFound
from core.models import AuditEntry
from ingestion import registry, services
from ingestion.models import Artifact, Batch, BatchRecord
from ingestion.services import UploadTooLarge
from tests.core.event_helpers import app_callbacks
from tests.ingestion.factories import (
    ELIGIBILITY_HEADER,
    csv_bytes,
    eligibility_csv,
    eligibility_row,
    make_payers,
    service_csv,
    service_row,
)

ELIGIBILITY = "ELIGIBILITY"
SERVICE = "SERVICE_DELIVERY"


@pytest.fixture
def acme(world):
    return make_payers(world.tenant, "ACME")["ACME"]


def ingest(actor: Actor, content: bytes, kind: str = ELIGIBILITY, *, run: bool = True, **kwargs):
    """Upload a file, create its batch and (by default) process it here."""
    batch = services.batch_ingest_file(
        actor=actor, kind=kind, filename=f"{kind.lower()}.csv", content=content, enqueue=False
    )
    if run and batch.status == Batch.Status.PROCESSING:
        batch = services.batch_run_inline(batch_id=batch.pk)
    return batch


def counters(batch: Batch) -> tuple[int, int, int, int, int]:
    batch.refresh_from_db()
    return (batch.total, batch.processed, batch.success, batch.error, batch.skipped)


def assert_ties_out(batch: Batch) -> None:
    """The counters agree with each other and with the records (SPEC 8)."""
    batch.refresh_from_db()
    by_status = dict.fromkeys(BatchRecord.Status.values, 0)
    for status in BatchRecord.objects.filter(batch=batch).values_list("status", flat=True):
        by_status[status] += 1
    assert batch.total == batch.processed + batch.pending
    assert batch.processed == batch.success + batch.updated + batch.error + batch.skipped
    assert batch.total == sum(by_status.values())
    assert batch.pending == by_status["PENDING"]
    assert batch.success == by_status["SUCCESS"]
    assert batch.error == by_status["ERROR"]
    assert batch.skipped == by_status["SKIPPED"]
    assert batch.updated == by_status["UPDATED"]


def statuses(batch: Batch) -> dict[int, str]:
    return dict(BatchRecord.objects.filter(batch=batch).values_list("row_number", "status"))


def errors(batch: Batch) -> dict[int, str]:
    return dict(
        BatchRecord.objects.filter(batch=batch, status="ERROR").values_list(
            "row_number", "error_detail"
        )
    )


def stored_facts(tenant) -> list[tuple]:
    """Everything loaded so far, to show it is left unchanged."""
    return [
        *EligibilityAssertion.objects.filter(tenant=tenant).order_by("pk").values_list(),
        *Member.objects.filter(tenant=tenant).order_by("pk").values_list(),
        *ServiceDeliveryEvent.objects.filter(tenant=tenant).order_by("pk").values_list(),
    ]


# --- a clean file -----------------------------------------------------------------------------


def test_batch_clean_eligibility_file_completes(world, acme, settings):
    # given a clean file of five rows for three members, processed two rows per chunk
    settings.INGESTION_CHUNK_SIZE = 2
    grace = {"first_name": "Grace", "last_name": "Hopper", "birth_date": "1906-12-09"}
    rows = [
        eligibility_row("M1"),
        eligibility_row("M1", benefit_code="DEN"),
        eligibility_row("M2", **grace),
        eligibility_row("M3", status="TERMINATED", termination_date="2025-03-31"),
        eligibility_row("M2", **grace, source_kind="CHANGE_FILE", file_date="2025-02-01"),
    ]

    # when it is ingested and processed
    batch = ingest(world.actor(), eligibility_csv(rows))

    # then the batch completed with every row loaded
    assert batch.status == Batch.Status.COMPLETED
    assert counters(batch) == (5, 5, 5, 0, 0)
    assert_ties_out(batch)
    assert set(statuses(batch).values()) == {"SUCCESS"}
    # and one assertion per row, all stamped with the file's arrival time
    assertions = EligibilityAssertion.objects.filter(batch=batch)
    assert assertions.count() == 5
    assert sorted(assertions.values_list("row_number", flat=True)) == [2, 3, 4, 5, 6]
    assert set(assertions.values_list("received_at", flat=True)) == {batch.artifact.received_at}
    assert batch.received_at == batch.artifact.received_at
    terminated = assertions.get(row_number=5)
    assert (terminated.status, terminated.termination_date) == ("TERMINATED", dt.date(2025, 3, 31))
    # and the three members exist once each
    members = {m.external_id: m for m in Member.objects.filter(tenant=world.tenant)}
    assert sorted(members) == ["M1", "M2", "M3"]
    assert (members["M2"].first_name, members["M2"].last_name) == ("Grace", "Hopper")
    assert members["M2"].birth_date == dt.date(1906, 12, 9)


def test_batch_next_file_updates_member_without_creating_one(world, acme):
    # given a member loaded from a first file
    actor = world.actor()
    ingest(actor, eligibility_csv([eligibility_row("M1", last_name="Byron")]))
    member = Member.objects.get(tenant=world.tenant, external_id="M1")

    # when the next month's file carries the member's new last name
    batch = ingest(
        actor, eligibility_csv([eligibility_row("M1", last_name="King", file_date="2025-02-28")])
    )

    # then the member is updated in place, and both assertions point at it
    assert batch.status == Batch.Status.COMPLETED
    assert Member.objects.filter(tenant=world.tenant).count() == 1
    member.refresh_from_db()
    assert member.last_name == "King"
    assert EligibilityAssertion.objects.filter(member=member).count() == 2


def test_batch_forced_payer_option_applies_to_csv_rows(world, acme):
    # given rows naming a payer code the tenant does not know
    content = eligibility_csv([eligibility_row("M1", payer_code="ELSEWHERE")])

    # when ingested naming the payer explicitly
    batch = services.batch_ingest_file(
        actor=world.actor(),
        kind=ELIGIBILITY,
        filename="e.csv",
        content=content,
        options={"payer_code": "acme"},
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the row is loaded for that payer
    assert batch.status == Batch.Status.COMPLETED
    assert EligibilityAssertion.objects.get(batch=batch).payer == acme


# --- counters tie out (Hypothesis) ------------------------------------------------------------

GOOD = "good"
BAD = {
    "bad_date": {"birth_date": "1980-02-30"},
    "bad_file_date": {"file_date": "31/01/2025"},
    "unknown_payer": {"payer_code": "NOPE"},
    "bad_status": {"status": "MAYBE"},
    "no_member": {"member_id": ""},
}
ROW_SPECS = st.lists(
    st.one_of(
        st.sampled_from([GOOD, GOOD, *BAD]),
        st.integers(min_value=0, max_value=40).map(lambda i: ("dup", i)),
    ),
    min_size=1,
    max_size=25,
)


def build_rows(specs) -> tuple[list[dict], dict[str, int], set[str]]:
    """Rows from specs; every non-duplicate row has its own key (benefit code B<i>)."""
    rows: list[dict] = []
    expected = {"good": 0, "bad": 0, "dup": 0}
    members: set[str] = set()
    for i, spec in enumerate(specs):
        if isinstance(spec, tuple) and rows:
            rows.append(dict(rows[spec[1] % len(rows)]))
            expected["dup"] += 1
            continue
        if isinstance(spec, tuple):
            spec = GOOD
        member_id = f"M{i % 4}"  # members share rows: they are upserted, not duplicated
        row = {**eligibility_row(member_id, benefit_code=f"B{i}"), **BAD.get(spec, {})}
        rows.append(row)
        if spec == GOOD:
            expected["good"] += 1
            members.add(member_id)
        else:
            expected["bad"] += 1
    return rows, expected, members


@hypothesis_settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=ROW_SPECS)
def test_batch_counters_tie_out_for_any_mix_of_rows(world, acme, settings, specs):
    # given a file mixing good rows, bad rows and repeated rows, processed 3 rows per chunk
    settings.INGESTION_CHUNK_SIZE = 3
    rows, expected, members = build_rows(specs)
    with transaction.atomic():  # each example starts from the same empty tenant
        # when it is ingested and processed
        batch = ingest(world.actor(), eligibility_csv(rows))

        # then the counters tie out and count what the file holds
        assert_ties_out(batch)
        assert batch.total == len(rows)
        assert batch.pending == 0
        assert batch.success == expected["good"]
        assert batch.error == expected["bad"]
        assert batch.skipped == expected["dup"]
        assert batch.status == (
            Batch.Status.COMPLETED_WITH_ERRORS if expected["bad"] else Batch.Status.COMPLETED
        )
        # and exactly the good rows were written, their members once each
        assert EligibilityAssertion.objects.filter(tenant=world.tenant).count() == batch.success
        assert set(Member.objects.values_list("external_id", flat=True)) == members
        transaction.set_rollback(True)


# --- duplicates and re-delivery ---------------------------------------------------------------


def test_batch_repeated_row_in_one_file_is_skipped(world, acme):
    # given a file repeating a row (case and spacing aside) two lines later
    rows = [
        eligibility_row("M1"),
        eligibility_row("M2"),
        eligibility_row(" m1 ", first_name="ADA"),
    ]

    # when ingested
    batch = ingest(world.actor(), eligibility_csv(rows))

    # then the repeat is skipped, saying which row it repeats
    assert counters(batch) == (3, 3, 2, 0, 1)
    assert batch.status == Batch.Status.COMPLETED
    skipped = BatchRecord.objects.get(batch=batch, status="SKIPPED")
    assert skipped.row_number == 4
    assert skipped.error_detail == "row 4: same key as row 2 of this batch"
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 2


def test_batch_redelivery_of_the_same_file_adds_nothing(world, acme):
    # given a file loaded once
    actor = world.actor()
    content = eligibility_csv([eligibility_row("M1"), eligibility_row("M2")])
    first = ingest(actor, content)
    before = stored_facts(world.tenant)

    # when the same file is delivered again
    second = ingest(actor, content)

    # then every row of the second batch is skipped, naming the batch that loaded it
    assert second.status == Batch.Status.COMPLETED
    assert counters(second) == (2, 2, 0, 0, 2)
    assert_ties_out(second)
    details = set(BatchRecord.objects.filter(batch=second).values_list("error_detail", flat=True))
    assert details == {f"already loaded by batch {first.pk}"}
    # and nothing was added or changed
    assert stored_facts(world.tenant) == before


def test_batch_same_file_in_another_tenant_is_loaded(world, acme):
    # given a file loaded by tenant A
    content = eligibility_csv([eligibility_row("M1")])
    ingest(world.actor(), content)
    make_payers(world.other_tenant, "ACME")

    # when tenant B loads the same file
    batch = ingest(Actor.system_for(world.other_tenant), content)

    # then it is loaded for B (keys are per tenant), A's rows untouched
    assert counters(batch) == (1, 1, 1, 0, 0)
    assert EligibilityAssertion.objects.filter(tenant=world.other_tenant).count() == 1
    assert EligibilityAssertion.objects.filter(tenant=world.tenant).count() == 1


def test_batch_custom_key_fields_skip_rows_already_seen(world, acme):
    # given service events keyed on date and member only
    actor = world.actor()
    ingest(actor, eligibility_csv([eligibility_row("M1")]))

    # when two records share member and date but differ in service code
    batch = services.batch_create(
        actor=actor,
        kind=SERVICE,
        records=[
            {"rowNumber": 1, "data": service_row("M1", service_code="99213")},
            {"rowNumber": 2, "data": service_row("M1", service_code="99214")},
        ],
        idempotency_key_fields=["ServiceDate", "MemberId"],
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the second is a repeat of the first
    assert batch.idempotency_key_fields == ["service_date", "member_id"]
    assert statuses(batch) == {1: "SUCCESS", 2: "SKIPPED"}
    assert ServiceDeliveryEvent.objects.filter(tenant=world.tenant).count() == 1


def test_batch_unknown_key_field_is_refused(world):
    # when a batch is created keyed on an unknown column
    with pytest.raises(DomainError) as exc:
        services.batch_create(
            actor=world.actor(),
            kind=SERVICE,
            records=[{"rowNumber": 1, "data": service_row()}],
            idempotency_key_fields=["ShoeSize"],
            enqueue=False,
        )

    # then the refusal names it, and no batch exists
    assert "idempotencyKeyFields: unknown column(s) shoe_size" in exc.value.message
    assert not Batch.objects.exists()


# --- retry and correction ---------------------------------------------------------------------


@pytest.fixture
def members_loaded(world, acme):
    """Members M1..M3 known from an eligibility file."""
    ingest(world.actor(), eligibility_csv([eligibility_row(f"M{i}") for i in (1, 2, 3)]))


def test_batch_retry_loads_rows_whose_payer_was_added_since(world, members_loaded):
    # given service rows failing because their payer is unknown
    actor = world.actor()
    rows = [
        service_row("M1"),
        service_row("M2", payer_code="BCBS"),
        service_row("M3", payer_code="bcbs"),
    ]
    batch = ingest(actor, service_csv(rows), SERVICE)
    assert batch.status == Batch.Status.COMPLETED_WITH_ERRORS
    assert counters(batch) == (3, 3, 1, 2, 0)
    assert errors(batch) == {
        3: "row 3: payer_code: expected a known payer, found 'BCBS'",
        4: "row 4: payer_code: expected a known payer, found 'BCBS'",
    }

    # when the payer is added and the batch retried
    make_payers(world.tenant, "BCBS")
    retried = services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    assert retried.status == Batch.Status.PROCESSING
    assert counters(retried) == (3, 1, 1, 0, 0)
    assert_ties_out(retried)
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then those rows load, the batch completes and the counters are updated
    assert batch.status == Batch.Status.COMPLETED
    assert counters(batch) == (3, 3, 3, 0, 0)
    assert_ties_out(batch)
    assert statuses(batch) == {2: "SUCCESS", 3: "SUCCESS", 4: "SUCCESS"}
    assert set(BatchRecord.objects.filter(batch=batch).values_list("error_detail", flat=True)) == {
        ""
    }
    events = ServiceDeliveryEvent.objects.filter(batch=batch)
    assert events.count() == 3
    # and rows loaded on retry keep the file's arrival time
    assert set(events.values_list("received_at", flat=True)) == {batch.artifact.received_at}


def test_batch_retry_of_corrected_and_uncorrected_records(world, members_loaded):
    # given three bad rows (two bad dates, an unknown payer), a good row and its repeat
    actor = world.actor()
    rows = [
        service_row("M1", service_date="2025-02-30"),
        service_row("M2", service_date="2025/01/15"),
        service_row("M3", payer_code="ZZZ"),
        service_row("M3"),
        service_row("M3"),
    ]
    batch = ingest(actor, service_csv(rows), SERVICE)
    assert counters(batch) == (5, 5, 1, 3, 1)
    untouched = list(
        BatchRecord.objects.filter(batch=batch, row_number__in=[5, 6])
        .order_by("row_number")
        .values_list("status", "error_detail", "attempts")
    )
    assert errors(batch)[2] == "row 2: service_date: expected a date YYYY-MM-DD, found '2025-02-30'"

    # when the first is corrected, the payer of the third changed to another unknown one,
    # and the batch retried
    corrected = services.batch_record_correct(
        actor=actor, batch_id=batch.pk, row_number=2, data={"ServiceDate": "2025-02-28"}
    )
    assert corrected.status == "ERROR"
    assert corrected.error_detail == "row 2: corrected (service_date); retry to load it"
    services.batch_record_correct(
        actor=actor, batch_id=batch.pk, row_number=4, data={"payer_code": "YYY"}
    )
    services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then the corrected row loads with its new date; the others still fail with a fresh error
    assert batch.status == Batch.Status.COMPLETED_WITH_ERRORS
    assert counters(batch) == (5, 5, 2, 2, 1)
    assert_ties_out(batch)
    assert statuses(batch) == {2: "SUCCESS", 3: "ERROR", 4: "ERROR", 5: "SUCCESS", 6: "SKIPPED"}
    assert errors(batch) == {
        3: "row 3: service_date: expected a date YYYY-MM-DD, found '2025/01/15'",
        4: "row 4: payer_code: expected a known payer, found 'YYY'",
    }
    event = ServiceDeliveryEvent.objects.get(batch=batch, row_number=2)
    assert event.service_date == dt.date(2025, 2, 28)
    assert ServiceDeliveryEvent.objects.filter(batch=batch).count() == 2
    # and only ERROR records were reprocessed: the loaded and the skipped rows are as they were
    assert untouched == [
        ("SUCCESS", "", 1),
        ("SKIPPED", "row 6: same key as row 5 of this batch", 0),
    ]
    assert (
        list(
            BatchRecord.objects.filter(batch=batch, row_number__in=[5, 6])
            .order_by("row_number")
            .values_list("status", "error_detail", "attempts")
        )
        == untouched
    )


def test_batch_retry_of_corrected_record_already_loaded_elsewhere_is_skipped(world, members_loaded):
    # given a service row loaded by a first batch, and a bad row in a second batch
    actor = world.actor()
    first = ingest(actor, service_csv([service_row("M1")]), SERVICE)
    second = ingest(actor, service_csv([service_row("M1", service_date="15.01.2025")]), SERVICE)

    # when the bad row is corrected into the row already loaded and retried
    services.batch_record_correct(
        actor=actor, batch_id=second.pk, row_number=2, data={"service_date": "2025-01-15"}
    )
    services.batch_retry(actor=actor, batch_id=second.pk, enqueue=False)
    second = services.batch_run_inline(batch_id=second.pk)

    # then it is skipped as already loaded, and no second event is written
    assert second.status == Batch.Status.COMPLETED
    assert counters(second) == (1, 1, 0, 0, 1)
    record = BatchRecord.objects.get(batch=second)
    assert record.error_detail == f"already loaded by batch {first.pk}"
    assert ServiceDeliveryEvent.objects.filter(tenant=world.tenant).count() == 1


def test_batch_record_correct_refuses_success_records_and_unknown_columns(world, members_loaded):
    # given a batch with one loaded and one failed row
    actor = world.actor()
    batch = ingest(
        actor, service_csv([service_row("M1"), service_row("M2", payer_code="NOPE")]), SERVICE
    )

    # when the loaded row is corrected, then it is a conflict
    with pytest.raises(Conflict) as exc:
        services.batch_record_correct(
            actor=actor, batch_id=batch.pk, row_number=2, data={"service_code": "99214"}
        )
    assert "only records in ERROR can be corrected" in exc.value.message
    # when the failed row is given an unknown column, then it is refused naming it
    with pytest.raises(DomainError) as exc:
        services.batch_record_correct(
            actor=actor, batch_id=batch.pk, row_number=3, data={"Shoe Size": "42"}
        )
    assert "unknown column(s) shoe_size" in exc.value.message
    # when a row that does not exist is corrected, then it is not found
    with pytest.raises(NotFound):
        services.batch_record_correct(
            actor=actor, batch_id=batch.pk, row_number=99, data={"payer_code": "ACME"}
        )
    # and the records are as they were
    record = BatchRecord.objects.get(batch=batch, row_number=3)
    assert record.data["payer_code"] == "NOPE"
    assert record.error_detail == "row 3: payer_code: expected a known payer, found 'NOPE'"


def test_batch_retry_while_processing_is_a_conflict(world, acme):
    # given a batch still processing
    actor = world.actor()
    batch = ingest(actor, eligibility_csv([eligibility_row("M1")]), run=False)
    assert batch.status == Batch.Status.PROCESSING

    # when it is retried, then it is refused
    with pytest.raises(Conflict) as exc:
        services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    assert "still processing" in exc.value.message


def test_batch_retry_without_errors_is_a_conflict(world, acme):
    # given a batch completed without errors
    actor = world.actor()
    batch = ingest(actor, eligibility_csv([eligibility_row("M1")]))

    # when it is retried, then it is refused and left completed
    with pytest.raises(Conflict):
        services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert counters(batch) == (1, 1, 1, 0, 0)


def test_batch_retry_through_the_task_queue(
    world, members_loaded, django_capture_on_commit_callbacks
):
    # given a batch with a row failing for an unknown payer, then the payer added
    actor = world.actor()
    batch = ingest(actor, service_csv([service_row("M1", payer_code="BCBS")]), SERVICE)
    make_payers(world.tenant, "BCBS")

    # when the batch is retried with its chunks queued (django-q2 runs them synchronously)
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_retry(actor=actor, batch_id=batch.pk)

    # then the row is loaded and the batch completed
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert counters(batch) == (1, 1, 1, 0, 0)


# --- bad input --------------------------------------------------------------------------------


def test_batch_missing_columns_fails_and_writes_nothing(world, acme):
    # given records already loaded, and a file lacking two required columns
    actor = world.actor()
    ingest(actor, eligibility_csv([eligibility_row("M1")]))
    before = stored_facts(world.tenant)
    header = [c for c in ELIGIBILITY_HEADER if c not in ("birth_date", "status")]

    # when it is ingested
    batch = ingest(actor, csv_bytes([eligibility_row("M2")], header))

    # then the batch failed naming the missing columns
    assert batch.status == Batch.Status.FAILED
    assert "missing required column(s): birth_date, status" in batch.failure
    assert batch.finished_at is not None
    assert counters(batch) == (0, 0, 0, 0, 0)
    # and no record or fact was written, nothing loaded before changed
    assert not BatchRecord.objects.filter(batch=batch).exists()
    assert stored_facts(world.tenant) == before


def test_batch_latin1_file_fails_naming_the_line(world, acme):
    # given a file saved as Latin-1 with an accented name on line 3
    content = eligibility_csv([eligibility_row("M1"), eligibility_row("M2")]).decode()
    content = content.replace("Lovelace", "Lövelace").encode("latin-1")

    # when it is ingested
    batch = ingest(world.actor(), content)

    # then the batch failed, naming the line and asking for UTF-8
    assert batch.status == Batch.Status.FAILED
    assert "on line 2" in batch.failure
    assert "save the file as UTF-8" in batch.failure
    assert not BatchRecord.objects.filter(batch=batch).exists()
    assert not EligibilityAssertion.objects.exists()


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (",".join(ELIGIBILITY_HEADER).encode() + b"\n", "the file has a header but no records"),
    ],
)
def test_batch_empty_files_fail(world, content, expected):
    # given an empty or header-only file, when ingested
    batch = ingest(world.actor(), content)

    # then the batch failed saying so
    assert batch.status == Batch.Status.FAILED
    assert batch.failure == expected
    assert not BatchRecord.objects.filter(batch=batch).exists()


def test_batch_oversized_upload_is_refused_and_not_stored(world, acme, settings):
    # given an upload limit of 100 bytes
    settings.INGESTION_MAX_UPLOAD_BYTES = 100
    content = eligibility_csv([eligibility_row("M1"), eligibility_row("M2")])
    assert len(content) > 100

    # when a larger file is uploaded
    with pytest.raises(UploadTooLarge) as exc:
        ingest(world.actor(), content)

    # then it is refused as too large (HTTP 413), and nothing is stored
    assert exc.value.http_status == 413
    assert exc.value.code == "too_large"
    assert "100 bytes allowed" in exc.value.message
    assert not Artifact.objects.exists()
    assert not Batch.objects.exists()


def test_batch_upload_at_the_limit_is_accepted(world, acme, settings):
    content = eligibility_csv([eligibility_row("M1")])
    settings.INGESTION_MAX_UPLOAD_BYTES = len(content)
    assert ingest(world.actor(), content).status == Batch.Status.COMPLETED


def test_batch_bad_values_are_row_errors_saying_field_expected_and_found(world, acme):
    # given one good row and rows with bad values or a bad shape
    rows = [
        eligibility_row("M1"),
        eligibility_row("M2", status="MAYBE"),
        eligibility_row("M3", effective_date="2025-13-01", source_kind="GUESS"),
        eligibility_row("M4", benefit_code=""),
    ]
    content = eligibility_csv(rows) + b"M5,Short,Row\n"

    # when ingested
    batch = ingest(world.actor(), content)

    # then only the bad rows are errors, each naming row, field, expectation and finding
    assert batch.status == Batch.Status.COMPLETED_WITH_ERRORS
    assert counters(batch) == (5, 5, 1, 4, 0)
    assert errors(batch) == {
        3: "row 3: status: expected one of ACTIVE, CANCELLED, PENDING, TERMINATED, found 'MAYBE'",
        4: (
            "row 4: source_kind: expected one of AMENDED_FILE, CHANGE_FILE, FULL_FILE, MANUAL, "
            "found 'GUESS'; effective_date: expected a date YYYY-MM-DD, found '2025-13-01'"
        ),
        5: "row 5: benefit_code: a value is required, found nothing",
        6: "row 6: expected 12 fields, found 3",
    }
    assert list(EligibilityAssertion.objects.values_list("member__external_id", flat=True)) == [
        "M1"
    ]
    assert list(Member.objects.values_list("external_id", flat=True)) == ["M1"]


def test_batch_unknown_member_for_service_delivery_is_a_row_error(world, acme):
    # given no member M9 known
    # when a service row for it is ingested
    batch = ingest(world.actor(), service_csv([service_row("M9")]), SERVICE)

    # then the row fails without echoing the member id
    assert errors(batch) == {
        2: "row 2: member_id: expected a known member (load eligibility first)"
    }
    assert not ServiceDeliveryEvent.objects.exists()


def test_batch_errors_never_echo_phi(world, acme):
    # given rows with distinctive PHI values that are each invalid or beside invalid values
    secret_id = "SSN-778-99-1234"
    rows = [
        eligibility_row(secret_id, first_name="Zebediah", birth_date="02/29/1980"),
        eligibility_row(secret_id + "X", last_name="Quixotic", birth_date="1980-02-30"),
        eligibility_row("Q" * 70, first_name="Zebediah", last_name="Quixotic"),
        eligibility_row(secret_id, first_name="Y" * 101, payer_code="NOPE", status="NEVER"),
    ]

    # when ingested
    batch = ingest(world.actor(), eligibility_csv(rows))

    # then every row failed, with messages naming the field but never its value
    assert counters(batch) == (4, 4, 0, 4, 0)
    details = errors(batch)
    assert details[2] == "row 2: birth_date: expected a date YYYY-MM-DD, found an invalid value"
    assert details[4] == "row 4: member_id: at most 64 characters, found 70"
    for text in details.values():
        for secret in (secret_id, "Zebediah", "Quixotic", "02/29/1980", "1980-02-30", "Q" * 10):
            assert secret not in text
        assert "YYYYY" not in text
    # and nothing of theirs was stored
    assert not Member.objects.exists()


def test_batch_unknown_kind_is_refused(world):
    # when a file or records of an unknown kind are sent
    with pytest.raises(DomainError) as exc:
        services.batch_ingest_file(
            actor=world.actor(), kind="HOROSCOPES", filename="x.csv", content=b"a\n1\n"
        )
    assert "kind: 'HOROSCOPES' cannot be loaded; expected one of" in exc.value.message
    assert "ELIGIBILITY" in exc.value.message
    with pytest.raises(DomainError):
        services.batch_create(
            actor=world.actor(), kind="HOROSCOPES", records=[{"rowNumber": 1, "data": {}}]
        )

    # then nothing is stored
    assert not Artifact.objects.exists()
    assert not Batch.objects.exists()


def test_batch_of_another_tenant_is_not_found(world, acme):
    # given a batch with an error in tenant A
    batch = ingest(world.actor(), eligibility_csv([eligibility_row("M1", status="MAYBE")]))
    outsider = Actor(tenant=world.other_tenant, user=world.outsider)

    # when tenant B's owner retries it, corrects it or builds a batch from A's file
    with pytest.raises(NotFound):
        services.batch_retry(actor=outsider, batch_id=batch.pk, enqueue=False)
    with pytest.raises(NotFound):
        services.batch_record_correct(
            actor=outsider, batch_id=batch.pk, row_number=2, data={"status": "ACTIVE"}
        )
    with pytest.raises(NotFound):
        services.batch_create(actor=outsider, artifact_id=batch.artifact_id, enqueue=False)

    # then A's batch is untouched and B has no batch
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED_WITH_ERRORS
    assert BatchRecord.objects.get(batch=batch).data["status"] == "MAYBE"
    assert not Batch.objects.filter(tenant=world.other_tenant).exists()


def test_batch_viewer_may_not_ingest(world):
    # given a viewer (ingestion.read only)
    from core.exceptions import ScopeDenied

    # when they upload, then it is refused and nothing stored
    with pytest.raises(ScopeDenied):
        ingest(world.actor("VIEWER"), eligibility_csv([eligibility_row()]))
    assert not Artifact.objects.exists()


def test_batch_failed_file_leaves_earlier_loads_unchanged(world, acme):
    # given a loaded file
    actor = world.actor()
    ingest(actor, eligibility_csv([eligibility_row("M1"), eligibility_row("M2")]))
    before = stored_facts(world.tenant)

    # when broken files and a file with errors for the same members arrive
    ingest(actor, b"\x00\x01garbage")
    ingest(actor, b"ISA*broken~")
    ingest(
        actor,
        eligibility_csv(
            [eligibility_row("M1", last_name="Other", birth_date="bad", file_date="2025-03-31")]
        ),
    )

    # then what was loaded is unchanged
    assert stored_facts(world.tenant) == before


# --- crash and resume -------------------------------------------------------------------------


class Crash(Exception):
    pass


@pytest.fixture
def crash_on_second_chunk():
    """Eligibility handler that writes the second chunk's rows, then dies (once)."""
    original = registry.get_handler(ELIGIBILITY)
    calls = {"n": 0}

    def process(ctx, records):
        calls["n"] += 1
        result = original.process(ctx, records)
        if calls["n"] == 2:
            raise Crash("worker killed mid-chunk")
        return result

    registry.register_handler(dataclasses.replace(original, process=process))
    try:
        yield calls
    finally:
        registry.register_handler(original)


def test_batch_chunk_crash_then_resume_writes_every_row_once(
    world, acme, settings, crash_on_second_chunk
):
    # given a five-row file processed two rows per chunk, the worker dying in the second chunk
    settings.INGESTION_CHUNK_SIZE = 2
    rows = [eligibility_row(f"M{i}") for i in range(1, 6)]
    batch = ingest(world.actor(), eligibility_csv(rows), run=False)
    assert services.batch_chunks(batch_id=batch.pk) == [(2, 3), (4, 5), (6, 6)]

    # when the chunks run
    with pytest.raises(Crash):
        services.batch_run_inline(batch_id=batch.pk)

    # then the first chunk is loaded, the crashed one left pending with nothing written
    assert statuses(batch) == {2: "SUCCESS", 3: "SUCCESS", 4: "PENDING", 5: "PENDING", 6: "PENDING"}
    assert counters(batch) == (5, 2, 2, 0, 0)
    assert_ties_out(batch)
    assert batch.status == Batch.Status.PROCESSING
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 2
    assert Member.objects.count() == 2

    # when an already processed chunk is delivered again, then it does nothing
    assert services.batch_process_chunk(batch_id=batch.pk, first_row=2, last_row=3) == 0
    assert counters(batch) == (5, 2, 2, 0, 0)
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 2

    # when the batch is resumed
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then it completes, each row written exactly once
    assert batch.status == Batch.Status.COMPLETED
    assert counters(batch) == (5, 5, 5, 0, 0)
    assert_ties_out(batch)
    per_row = list(
        EligibilityAssertion.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", flat=True)
    )
    assert per_row == [2, 3, 4, 5, 6]
    assert Member.objects.count() == 5

    # when every chunk range is delivered again after completion, then nothing is written
    for first, last in [(2, 3), (4, 5), (6, 6), (1, 100)]:
        assert services.batch_process_chunk(batch_id=batch.pk, first_row=first, last_row=last) == 0
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 5
    assert counters(batch) == (5, 5, 5, 0, 0)


# --- queued processing ------------------------------------------------------------------------


def test_batch_create_enqueued_completes_through_the_task(
    world, acme, settings, django_capture_on_commit_callbacks
):
    # given an uploaded file of three rows, one chunk per two rows
    settings.INGESTION_CHUNK_SIZE = 2
    actor = world.actor()
    artifact = services.artifact_upload(
        actor=actor,
        kind=ELIGIBILITY,
        filename="e.csv",
        content=eligibility_csv([eligibility_row(f"M{i}") for i in range(3)]),
    )

    # when a batch is created with its chunks queued (django-q2 runs tasks synchronously here)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = services.batch_create(actor=actor, artifact_id=artifact.pk)

    # then the queued tasks processed every chunk and completed the batch
    assert len(app_callbacks(callbacks)) == 1  # and the event relay's
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert counters(batch) == (3, 3, 3, 0, 0)
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 3


def test_process_batch_chunk_task_processes_and_finalizes(world, acme):
    # given a processing batch of one row
    from ingestion.tasks import process_batch_chunk

    batch = ingest(world.actor(), eligibility_csv([eligibility_row("M1")]), run=False)

    # when the task runs for its range, and again
    assert process_batch_chunk(batch.pk, 2, 2) == 1
    assert process_batch_chunk(batch.pk, 2, 2) == 0

    # then the batch is completed with one assertion
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 1


# --- JSON records -----------------------------------------------------------------------------


def test_batch_json_service_records_are_loaded(world, members_loaded):
    # given service records sent as JSON, with API-style column names
    actor = world.actor()

    # when a batch is created from them
    batch = services.batch_create(
        actor=actor,
        kind=SERVICE,
        records=[
            {
                "rowNumber": 1,
                "data": {
                    "MemberId": "M1",
                    "PayerCode": "acme",
                    "ServiceDate": "2025-01-10",
                    "ServiceCode": 99213,
                },
            },
            {"rowNumber": 7, "data": service_row("M2", service_date="2025-01-11")},
        ],
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then both are loaded as events under their own row numbers
    assert batch.format == Batch.Format.JSON
    assert batch.artifact is None
    assert batch.status == Batch.Status.COMPLETED
    assert statuses(batch) == {1: "SUCCESS", 7: "SUCCESS"}
    event = ServiceDeliveryEvent.objects.get(batch=batch, row_number=1)
    assert (event.member.external_id, event.payer.code) == ("M1", "ACME")
    assert (event.service_date, event.service_code) == (dt.date(2025, 1, 10), "99213")
    assert event.received_at == batch.received_at


@pytest.mark.parametrize(
    "records, expected",
    [
        (
            [{"rowNumber": 1, "data": service_row()}, {"rowNumber": 1, "data": service_row("M2")}],
            "records[1]: rowNumber 1 appears twice.",
        ),
        (
            [{"rowNumber": 1, "data": ["M1", "ACME"]}],
            "records[0]: expected {rowNumber: a positive integer, data: an object}.",
        ),
        (
            [{"rowNumber": 0, "data": service_row()}],
            "records[0]: expected {rowNumber: a positive integer, data: an object}.",
        ),
        ([], "records: expected a non-empty list of {rowNumber, data} objects."),
        ("M1,ACME", "records: expected a non-empty list of {rowNumber, data} objects."),
    ],
)
def test_batch_malformed_json_records_are_refused(world, records, expected):
    # when a batch is created from malformed records
    with pytest.raises(DomainError) as exc:
        services.batch_create(actor=world.actor(), kind=SERVICE, records=records, enqueue=False)

    # then it is refused saying what is wrong, and no batch is left behind
    assert exc.value.message == expected
    assert not Batch.objects.exists()
    assert not BatchRecord.objects.exists()


# --- audit ------------------------------------------------------------------------------------


def test_batch_lifecycle_is_audited_and_chain_verifies(world, members_loaded):
    # given a service file with one failing row, retried once the payer is known
    actor = world.actor()
    batch = ingest(
        actor, service_csv([service_row("M1"), service_row("M2", payer_code="BCBS")]), SERVICE
    )
    make_payers(world.tenant, "BCBS")
    services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    services.batch_run_inline(batch_id=batch.pk)

    # when the audit trail of the batch is read
    actions = list(
        AuditEntry.objects.filter(
            tenant=world.tenant, object_type="ingestion.Batch", object_id=str(batch.pk)
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )

    # then every step is there in order, and the tenant's chain verifies
    assert actions == [
        "BATCH_CREATED",
        "BATCH_STARTED",
        "BATCH_COMPLETED",
        "BATCH_RETRIED",
        "BATCH_COMPLETED",
    ]
    assert AuditEntry.objects.filter(
        tenant=world.tenant, action="ARTIFACT_UPLOADED", object_id=str(batch.artifact_id)
    ).exists()
    assert verify_chain(world.tenant).ok is True


def test_batch_failure_is_audited(world):
    # given an empty file, when ingested
    batch = ingest(world.actor(), b"")

    # then the failure is audited with its message, and the chain verifies
    entry = AuditEntry.objects.get(
        tenant=world.tenant, action="BATCH_FAILED", object_id=str(batch.pk)
    )
    assert entry.payload["to"] == "FAILED"
    assert verify_chain(world.tenant).ok is True
