"""A batch record never references a batch that does not exist, nor one of another tenant
(ingestion migration 0007: a set-based check per insert on PostgreSQL instead of two per-row
foreign keys; SQLite keeps its foreign keys)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.actors import Actor
from core.bulk import insert_rows
from ingestion.chunks import RECORD_FIELDS
from ingestion.models import Batch, BatchRecord

pytestmark = pytest.mark.django_db
# COPY runs on the driver's cursor: PostgreSQL's refusal comes out as psycopg's IntegrityError
REFUSED = (IntegrityError, psycopg.IntegrityError)


@pytest.fixture
def batch(world):
    return Batch.objects.create(
        tenant=world.tenant, kind="ELIGIBILITY", format="CSV", received_at=timezone.now()
    )


def _rec(tenant_id: int, batch_id: int, row: int) -> tuple:
    return (
        tenant_id,
        batch_id,
        "ELIGIBILITY",
        row,
        {"member_id": "M1"},
        "PENDING",
        "",
        f"k{row}",
        0,
    )


def test_records_of_an_existing_batch_are_stored(world, batch):
    with transaction.atomic():
        insert_rows(
            BatchRecord, RECORD_FIELDS, [_rec(world.tenant.pk, batch.pk, n) for n in (2, 3)]
        )
    assert BatchRecord.objects.filter(batch=batch).count() == 2


def test_a_record_of_a_missing_batch_is_refused(world, batch):
    # given a chunk of records, one of them naming a batch that does not exist
    rows = [_rec(world.tenant.pk, batch.pk, 2), _rec(world.tenant.pk, 987654321, 3)]
    # when it is written: refused as a whole
    with pytest.raises(REFUSED), transaction.atomic():
        insert_rows(BatchRecord, RECORD_FIELDS, rows)
        connection.check_constraints(table_names=[BatchRecord._meta.db_table])
    assert not BatchRecord.objects.exists()


@pytest.mark.postgres
def test_a_record_under_another_tenant_than_its_batch_is_refused(world, batch):
    # when a record says tenant B but belongs to tenant A's batch (the keys never checked this)
    refused = pytest.raises(REFUSED, match="does not exist under their tenant")
    with refused, transaction.atomic():
        insert_rows(BatchRecord, RECORD_FIELDS, [_rec(world.other_tenant.pk, batch.pk, 2)])
    assert not BatchRecord.objects.exists()


@pytest.mark.postgres
def test_a_batch_with_records_cannot_be_deleted_behind_the_orm(world, batch):
    # given a stored record
    with transaction.atomic():
        insert_rows(BatchRecord, RECORD_FIELDS, [_rec(world.tenant.pk, batch.pk, 2)])
    # when the batch is deleted with SQL, or the record moved to a missing batch: refused
    for sql, params in (
        ("DELETE FROM ingestion_batch WHERE id = %s", [batch.pk]),
        ("UPDATE ingestion_batchrecord SET batch_id = %s", [987654321]),
    ):
        with pytest.raises(REFUSED), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert BatchRecord.objects.get().batch_id == batch.pk
    # while the ORM's CASCADE (records first) still deletes both
    Batch.objects.filter(pk=batch.pk).delete()
    assert not BatchRecord.objects.exists()


def test_an_inline_load_still_stores_its_records_and_assertions(facts):
    # the ingestion path itself passes the checks (its references come from its own batch)
    from ingestion import services

    csv = (
        b"member_id,first_name,last_name,birth_date,payer_code,source_kind,file_date,status,"
        b"effective_date,termination_date,benefit_code,benefit_suffix\n"
        b"M001,Ada,Lovelace,1980-01-01,ACME,FULL_FILE,2026-01-01,ACTIVE,2026-01-01,,MED,\n"
        b"N001,Bo,Newman,1981-01-01,ACME,FULL_FILE,2026-01-01,ACTIVE,2026-01-01,,MED,\n"
    )
    batch = services.batch_ingest_file(
        actor=Actor.system_for(facts.tenant),
        kind="ELIGIBILITY",
        filename="e.csv",
        content=csv,
        inline=True,
    )
    assert (batch.status, batch.success, batch.error) == ("COMPLETED", 2, 0)
