"""A re-sent eligibility row that corrects a name or birth date (issue 10, defect 10).

Names and birth date are not part of the eligibility key, so such a row repeats a loaded key.
The newest file's values are applied to the member (audited with the previous values) and the
row counts as UPDATED; an older file never overwrites what a newer one said.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from rest_framework.test import APIClient

from billing.models import EligibilityAssertion, Member
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry
from ingestion.models import Batch, BatchRecord
from tests.ingestion.factories import eligibility_csv, eligibility_row, make_payers
from tests.ingestion.test_batches import assert_ties_out, ingest

JAN = {"file_date": "2025-01-31"}


@pytest.fixture
def loaded(world):
    """Member M1 loaded from January's file as Ada Lovelace, born 1980-02-29."""
    make_payers(world.tenant, "ACME")
    batch = ingest(world.actor(), eligibility_csv([eligibility_row("M1", **JAN)]))
    assert batch.status == Batch.Status.COMPLETED
    return batch


def _member(world) -> Member:
    return Member.objects.get(tenant=world.tenant, external_id="M1")


def test_resent_row_correcting_the_name_updates_the_member(world, loaded, caplog):
    # given January's row sent again (same key) with a corrected last name and birth date
    caplog.set_level(logging.DEBUG)
    fixed = eligibility_row("M1", last_name="King", birth_date="1980-03-01", **JAN)

    # when the corrected file is processed
    batch = ingest(world.actor(), eligibility_csv([fixed]))

    # then the member carries the corrected values
    member = _member(world)
    assert (member.first_name, member.last_name) == ("Ada", "King")
    assert member.birth_date == dt.date(1980, 3, 1)
    # and the row counts as UPDATED, not SKIPPED; the counters tie out
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    assert (batch.total, batch.processed, batch.success, batch.updated, batch.skipped) == (
        1,
        1,
        0,
        1,
        0,
    )
    assert_ties_out(batch)
    record = BatchRecord.objects.get(batch=batch)
    assert record.status == "UPDATED"
    # and no second assertion was written: the coverage fact itself was already loaded
    assert EligibilityAssertion.objects.filter(member=member).count() == 1
    # and an audit entry keeps the previous values
    entry = AuditEntry.objects.get(tenant=world.tenant, action="MEMBER_DEMOGRAPHICS_UPDATED")
    assert entry.object_id == str(member.pk)
    assert entry.payload["fields"] == ["last_name", "birth_date"]
    assert entry.payload["previous"]["last_name"] == "Lovelace"
    assert entry.payload["previous"]["birth_date"] == "1980-02-29"
    assert (entry.payload["batch"], entry.payload["row"]) == (batch.pk, 2)
    assert verify_chain(world.tenant).ok
    # and neither the old nor the new values reached the logs
    logged = " ".join(r.getMessage() + json.dumps(vars(r), default=str) for r in caplog.records)
    assert "Lovelace" not in logged and "King" not in logged and "1980-0" not in logged


def test_an_older_file_arriving_later_does_not_overwrite(world, loaded):
    # given February's file corrected the name
    feb = eligibility_row("M1", last_name="King", file_date="2025-02-28")
    ingest(world.actor(), eligibility_csv([feb]))
    assert _member(world).last_name == "King"

    # when January's file (older file_date) arrives again, with the old spelling
    late = ingest(world.actor(), eligibility_csv([eligibility_row("M1", last_name="Byron", **JAN)]))

    # then the member keeps February's values and the row is only SKIPPED
    assert _member(world).last_name == "King"
    late.refresh_from_db()
    assert (late.updated, late.skipped) == (0, 1)
    assert BatchRecord.objects.get(batch=late).status == "SKIPPED"
    assert_ties_out(late)


def test_the_same_file_delivered_again_changes_nothing(world, loaded):
    # when January's file is delivered a second time, unchanged
    before = Member.objects.filter(tenant=world.tenant).values_list()
    again = ingest(world.actor(), eligibility_csv([eligibility_row("M1", **JAN)]))

    # then its row is SKIPPED and the member is untouched (not even its as-of)
    again.refresh_from_db()
    assert (again.updated, again.skipped) == (0, 1)
    assert list(Member.objects.filter(tenant=world.tenant).values_list()) == list(before)
    assert not AuditEntry.objects.filter(action="MEMBER_DEMOGRAPHICS_UPDATED").exists()


def test_a_new_coverage_row_from_an_older_file_keeps_newer_names(world, loaded):
    # given February's file corrected the name
    ingest(
        world.actor(),
        eligibility_csv([eligibility_row("M1", last_name="King", file_date="2025-02-28")]),
    )
    # when an older file brings a new coverage fact (a new key) with the old name
    older = eligibility_row("M1", last_name="Byron", benefit_code="DEN", **JAN)
    batch = ingest(world.actor(), eligibility_csv([older]))

    # then the fact is loaded but the newer name stays
    batch.refresh_from_db()
    assert (batch.success, batch.updated) == (1, 0)
    assert _member(world).last_name == "King"


def test_updated_counter_in_the_api_and_on_the_batch_page(world, loaded):
    # given a corrected re-send
    fixed = eligibility_row("M1", first_name="Augusta", **JAN)
    batch = ingest(world.actor(), eligibility_csv([fixed]))

    # then the API reports the UPDATED counter, and the records filter by it
    api = APIClient()
    api.force_authenticate(world.users[S.Role.VIEWER])
    body = api.get(f"/api/batches/{batch.pk}").json()
    assert (body["updated"], body["skipped"], body["success"]) == (1, 0, 0)
    records = api.get(f"/api/batches/{batch.pk}/records?status=UPDATED").json()
    assert [r["row_number"] for r in records["results"]] == [2]
    # and the batch page shows it as a counter and a tab
    from django.test import Client

    client = Client()
    client.force_login(world.users[S.Role.VIEWER])
    html = client.get(f"/ingestion/batches/{batch.pk}/").content.decode()
    assert '<dd id="c-updated">1</dd>' in html
    assert "Updated (1)" in html
