"""A batch loaded while its records are stored (`inline`, the command's --sync) ends exactly as
the same file ends through stored PENDING records and chunks: same statuses, messages, attempts
and counters; each record is written once, with its final status."""

from __future__ import annotations

import pytest

from billing.models import EligibilityAssertion
from core.actors import Actor
from ingestion import services
from ingestion.models import Batch, BatchRecord
from tests.ingestion.factories import eligibility_csv, eligibility_row, make_payers

EXPECTED = {
    2: "SUCCESS",  # M001
    3: "ERROR",  # payer NOPE does not exist yet
    4: "SKIPPED",  # same key as row 2
    5: "ERROR",  # birth date is not a date
    6: "SKIPPED",  # M004 was loaded by the earlier batch
    7: "SUCCESS",  # M005
    8: "ERROR",  # one field too many
}


def _file() -> bytes:
    rows = [
        eligibility_row("M001"),
        eligibility_row("M002", payer_code="NOPE"),
        eligibility_row("M001"),
        eligibility_row("M003", birth_date="1980-13-01"),
        eligibility_row("M004"),
        eligibility_row("M005"),
    ]
    shifted = ",".join(eligibility_row("M006", last_name="Lovelace, Jr").values())
    return eligibility_csv(rows) + (shifted + "\n").encode()


def _outcomes(batch: Batch) -> list[tuple]:
    """(row, status, detail, attempts); the earlier batch's id (per tenant) reads as EARLIER."""
    rows = BatchRecord.objects.filter(batch=batch).order_by("row_number")
    first = Batch.objects.filter(tenant_id=batch.tenant_id).order_by("pk").first()
    return [
        (row, status, detail.replace(f"batch {first.pk}", "batch EARLIER"), attempts)
        for row, status, detail, attempts in rows.values_list(
            "row_number", "status", "error_detail", "attempts"
        )
    ]


def _counters(batch: Batch) -> tuple:
    batch.refresh_from_db()
    return (
        batch.status,
        batch.total,
        batch.processed,
        batch.success,
        batch.updated,
        batch.error,
        batch.skipped,
    )


def _load(tenant, *, inline: bool) -> tuple[Actor, Batch]:
    make_payers(tenant, "ACME")
    actor = Actor.system_for(tenant)
    earlier = eligibility_csv([eligibility_row("M004")])
    services.batch_ingest_file(
        actor=actor, kind="ELIGIBILITY", filename="e0.csv", content=earlier, inline=True
    )
    batch = services.batch_ingest_file(
        actor=actor,
        kind="ELIGIBILITY",
        filename="e1.csv",
        content=_file(),
        enqueue=False,
        inline=inline,
    )
    if not inline:
        assert batch.status == Batch.Status.PROCESSING  # records stored PENDING, chunks to run
        assert BatchRecord.objects.filter(batch=batch, status="PENDING").count() == 5
        batch = services.batch_run_inline(batch_id=batch.pk)
    return actor, batch


@pytest.mark.parametrize("chunk_size", [2, 5000])
def test_inline_load_ends_as_the_queued_chunks_end_it(world, settings, chunk_size):
    # given the same file (good rows, a repeat, bad values, a shape problem, a key loaded
    # before) for two tenants, in chunks of `chunk_size` records
    settings.INGESTION_CHUNK_SIZE = chunk_size

    # when one tenant loads it through queued chunks and the other inline
    _, queued = _load(world.tenant, inline=False)
    _, inline = _load(world.other_tenant, inline=True)

    # then the inline batch came back finished, with no record left pending
    assert inline.status == Batch.Status.COMPLETED_WITH_ERRORS
    assert not BatchRecord.objects.filter(batch=inline, status="PENDING").exists()
    # and every record, message, attempt count and counter is the same as through the chunks
    assert {r: s for r, s, _, _ in _outcomes(inline)} == EXPECTED
    assert [o[1:] for o in _outcomes(inline)] == [o[1:] for o in _outcomes(queued)]
    assert _counters(inline) == _counters(queued)
    assert _counters(inline)[1:] == (7, 7, 2, 0, 3, 2)
    details = {r: d for r, _, d, _ in _outcomes(inline)}
    assert details[4] == "row 4: same key as row 2 of this batch"
    assert details[6] == "already loaded by batch EARLIER"
    assert details[8] == "row 8: expected 12 fields, found 13"
    assert EligibilityAssertion.objects.filter(batch=inline).count() == 2


def test_inline_batch_retries_its_errors_after_the_fix(world):
    # given an inline batch whose row 3 names a payer that did not exist yet
    actor, batch = _load(world.other_tenant, inline=True)
    make_payers(world.other_tenant, "NOPE")

    # when its errors are retried
    services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    batch = services.batch_run_inline(batch_id=batch.pk)

    # then row 3 loads (second attempt counted), the others stay in error
    row3 = BatchRecord.objects.get(batch=batch, row_number=3)
    assert (row3.status, row3.error_detail, row3.attempts) == ("SUCCESS", "", 1)
    assert _counters(batch)[1:] == (7, 7, 3, 0, 2, 2)
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 3


def test_inline_load_that_fails_midway_leaves_no_record_and_a_failed_batch(
    world, monkeypatch, settings
):
    # given a handler that breaks on the second chunk
    from ingestion import chunks

    make_payers(world.tenant, "ACME")
    calls = []
    real = chunks.chunk_decide

    def breaking(batch, handler, recs):
        calls.append(len(recs))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(batch, handler, recs)

    monkeypatch.setattr(chunks, "chunk_decide", breaking)
    rows = [eligibility_row(f"M{n:03d}") for n in range(1, 6)]

    # when an inline load of five rows in chunks of two fails in its second chunk
    settings.INGESTION_CHUNK_SIZE = 2
    with pytest.raises(RuntimeError):
        services.batch_ingest_file(
            actor=Actor.system_for(world.tenant),
            kind="ELIGIBILITY",
            filename="e.csv",
            content=eligibility_csv(rows),
            inline=True,
        )

    # then nothing of the first chunk stays: no record, no assertion; the batch says FAILED
    batch = Batch.objects.get(tenant=world.tenant)
    assert batch.status == Batch.Status.FAILED
    assert "nothing was loaded" in batch.failure
    assert not BatchRecord.objects.filter(tenant=world.tenant).exists()
    assert not EligibilityAssertion.objects.filter(tenant=world.tenant).exists()
