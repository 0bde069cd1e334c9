"""Ingestion's events (issue 19): a batch completed or failed, with its counters, no PHI."""

from __future__ import annotations

import pytest
from django.db import transaction

from core import scopes as S
from core.models import Event
from ingestion import services
from ingestion.models import Batch
from tests.core.event_helpers import events_of, phi_found, recipients, the_event, title_and_link
from tests.ingestion.factories import eligibility_csv, eligibility_row, make_payers

PHI = ["Ada", "Lovelace", "1980-02-29", "M001", "M002", "Bad"]


@pytest.fixture(autouse=True)
def _acme(world):
    make_payers(world.tenant, "ACME")


def ingest(actor, content: bytes) -> Batch:
    batch = services.batch_ingest_file(
        actor=actor, kind="ELIGIBILITY", filename="eligibility.csv", content=content, enqueue=False
    )
    if batch.status == Batch.Status.PROCESSING:
        batch = services.batch_run_inline(batch_id=batch.pk)
    return batch


def test_batch_completed_event_counts_the_records(world):
    # given a file of two good rows and one with a bad date, uploaded by operations
    actor = world.actor(S.Role.OPERATIONS)
    content = eligibility_csv(
        [
            eligibility_row("M001"),
            eligibility_row("M002"),
            eligibility_row("M003", last_name="Bad", effective_date="not-a-date"),
        ]
    )

    batch = ingest(actor, content)

    event = the_event(world.tenant, "ingestion.batch.completed")
    assert (event.object_type, event.object_id) == ("ingestion.Batch", str(batch.pk))
    assert event.payload == {
        "batch": batch.pk,
        "kind": "ELIGIBILITY",
        "format": "CSV",
        "status": "COMPLETED_WITH_ERRORS",
        "artifact": batch.artifact_id,
        "total": 3,
        "success": 2,
        "error": 1,
        "skipped": 0,
        "updated": 0,
    }
    assert phi_found(event.payload, [*PHI, "M003", "not-a-date"]) == []
    assert events_of(world.tenant, "ingestion.batch.failed") == []


def test_batch_failed_event_notifies_the_uploader_only(world):
    # given an empty file uploaded by the operations user
    batch = ingest(world.actor(S.Role.OPERATIONS), b"")

    assert batch.status == Batch.Status.FAILED
    event = the_event(world.tenant, "ingestion.batch.failed")
    assert event.payload["batch"] == batch.pk
    assert event.payload["status"] == "FAILED"
    assert event.payload["total"] == 0
    assert "failure" not in event.payload
    assert recipients(event) == [world.users[S.Role.OPERATIONS].pk]
    title, link = title_and_link(event)
    assert title == f"Ingestion batch #{batch.pk} (eligibility) failed"
    assert link == f"/ingestion/batches/{batch.pk}/"
    assert events_of(world.tenant, "ingestion.batch.completed") == []


def test_batch_rolled_back_leaves_no_event(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest(world.actor(), eligibility_csv([eligibility_row("M001")]))
        assert len(events_of(world.tenant, "ingestion.batch.completed")) == 1
        raise RuntimeError("forced rollback")

    assert not Event.objects.filter(tenant=world.tenant).exists()
