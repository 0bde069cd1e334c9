"""A row with the wrong number of fields stays in error until someone corrects it."""

from billing.models import EligibilityAssertion, Payer
from core import scopes as S
from ingestion import services
from ingestion.models import Batch, BatchRecord
from tests.ingestion.factories import ELIGIBILITY_HEADER, eligibility_row


def _file_with_extra_comma() -> bytes:
    good = ",".join(eligibility_row("M001").values())
    # an unquoted comma in the last name slides every later value one column to the right
    shifted = ",".join(eligibility_row("M002", last_name="Lovelace, Jr").values())
    return (",".join(ELIGIBILITY_HEADER) + "\n" + good + "\n" + shifted + "\n").encode()


def test_shape_error_survives_a_retry_as_is_and_clears_after_correction(world):
    # given a file whose row 3 has one field too many
    Payer.objects.create(tenant=world.tenant, code="ACME", name="Acme")
    actor = world.actor(S.Role.OPERATIONS)
    batch = services.batch_ingest_file(
        actor=actor,
        kind="ELIGIBILITY",
        filename="e.csv",
        content=_file_with_extra_comma(),
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)
    assert (batch.status, batch.success, batch.error) == (
        Batch.Status.COMPLETED_WITH_ERRORS,
        1,
        1,
    )
    record = BatchRecord.objects.get(batch=batch, row_number=3)
    assert record.error_detail == "row 3: expected 12 fields, found 13"

    # when it is retried as it is, it fails again and nothing slid into the facts
    services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    batch = services.batch_run_inline(batch_id=batch.pk)
    record.refresh_from_db()
    assert (batch.status, batch.error) == (Batch.Status.COMPLETED_WITH_ERRORS, 1)
    assert record.status == BatchRecord.Status.ERROR
    assert "expected 12 fields, found 13" in record.error_detail
    assert EligibilityAssertion.objects.filter(batch=batch).count() == 1

    # when the row is corrected and retried, it loads
    fixed = eligibility_row("M002", last_name="Lovelace Jr")
    services.batch_record_correct(actor=actor, batch_id=batch.pk, row_number=3, data=fixed)
    services.batch_retry(actor=actor, batch_id=batch.pk, enqueue=False)
    batch = services.batch_run_inline(batch_id=batch.pk)
    assert (batch.status, batch.success, batch.error) == (Batch.Status.COMPLETED, 2, 0)
    assert EligibilityAssertion.objects.filter(batch=batch, row_number=3).count() == 1
