"""Records keep their batch and tenant references without per-row foreign-key checks.

The two foreign keys of `ingestion_batchrecord` were checked row by row at commit: 200,000
checks (one index probe and one `FOR KEY SHARE` lock each) for a 100,000-row file, about a
tenth of the load (docs/benchmarks.md, "Ingestion"). What replaces them, on PostgreSQL:

- an AFTER INSERT statement trigger reads the statement's new rows (a transition table) and
  checks each distinct (batch, tenant) pair once, set-based: the batch must exist under that
  tenant (stronger than the two keys were: they did not tie the record's tenant to its batch's;
  the batch keeps its own key to the tenant). The batch row is locked `FOR KEY SHARE`, as the
  key did, so a concurrent delete waits for the insert and then sees its rows;
- a row trigger refuses an UPDATE that points a record at a batch that does not exist under
  its tenant (nothing in the product changes these columns);
- a DELETE of batches still referenced by records is refused (statement trigger; the ORM's
  CASCADE deletes the records first). TRUNCATE does not fire triggers (the test suite's flush).

Both surface as IntegrityError. On SQLite (the embedded default) the database keeps its
foreign keys (only the model state says "no constraint"): triggers there would have to name
the parent tables, and SQLite then refuses any later migration that remakes a parent ("error
in trigger ...: no such table", see billing 0012). A later migration that remakes the records
table on SQLite builds it from the state, without the keys: acceptable for the embedded
database, which is not the one the product's integrity rests on.
Tested in tests/ingestion/test_record_refs.py.
"""

from django.db import migrations, models

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION refs_parent_delete_check() RETURNS trigger AS $$
-- AFTER DELETE ... FOR EACH STATEMENT, REFERENCING OLD TABLE AS old_rows;
-- TG_ARGV: the referencing table and its column holding this table's id.
DECLARE
    still boolean;
BEGIN
    EXECUTE format(
        'SELECT EXISTS (SELECT 1 FROM old_rows o WHERE EXISTS '
        '(SELECT 1 FROM %I c WHERE c.%I = o.id))', TG_ARGV[0], TG_ARGV[1]) INTO still;
    IF still THEN
        RAISE EXCEPTION 'a deleted % row is still referenced by %.%',
            TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ingestion_record_refs_check() RETURNS trigger AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT count(*) INTO bad
      FROM (SELECT DISTINCT batch_id, tenant_id FROM new_rows) r
     WHERE NOT EXISTS (SELECT 1 FROM ingestion_batch p
                        WHERE p.id = r.batch_id AND p.tenant_id = r.tenant_id FOR KEY SHARE);
    IF bad > 0 THEN
        RAISE EXCEPTION
            'ingestion_batchrecord rows reference a batch that does not exist under their '
            'tenant (% distinct references)', bad
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ingestion_record_refs_update_check() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ingestion_batch p
                    WHERE p.id = NEW.batch_id AND p.tenant_id = NEW.tenant_id FOR KEY SHARE) THEN
        RAISE EXCEPTION
            'ingestion_batchrecord row % would reference a batch that does not exist under '
            'its tenant', NEW.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ingestion_batchrecord_refs
    AFTER INSERT ON ingestion_batchrecord REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ingestion_record_refs_check();
CREATE TRIGGER ingestion_batchrecord_refs_update
    AFTER UPDATE OF batch_id, tenant_id ON ingestion_batchrecord FOR EACH ROW
    WHEN (OLD.batch_id IS DISTINCT FROM NEW.batch_id OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION ingestion_record_refs_update_check();
CREATE TRIGGER ingestion_batch_records_refs
    AFTER DELETE ON ingestion_batch REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refs_parent_delete_check('ingestion_batchrecord', 'batch_id');
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS ingestion_batch_records_refs ON ingestion_batch;
DROP TRIGGER IF EXISTS ingestion_batchrecord_refs_update ON ingestion_batchrecord;
DROP TRIGGER IF EXISTS ingestion_batchrecord_refs ON ingestion_batchrecord;
DROP FUNCTION IF EXISTS ingestion_record_refs_update_check();
DROP FUNCTION IF EXISTS ingestion_record_refs_check();
DROP FUNCTION IF EXISTS refs_parent_delete_check();
"""

FKS = (("batch_id", "ingestion_batch"), ("tenant_id", "core_tenant"))
DROP_FKS = """
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = 'ingestion_batchrecord'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE ingestion_batchrecord DROP CONSTRAINT %I', c.conname);
    END LOOP;
END;
$$;
"""
ADD_FKS = "".join(
    f"ALTER TABLE ingestion_batchrecord ADD CONSTRAINT ingestion_batchrecord_{column}_fk"
    f" FOREIGN KEY ({column}) REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED;\n"
    for column, parent in FKS
)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
        if vendor == "postgresql":
            cursor.execute(DROP_FKS)
            cursor.execute(PG_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(PG_BACKWARD)
            cursor.execute(ADD_FKS)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_watchdog"),
        ("ingestion", "0006_batch_progress_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="batchrecord",
                    name="batch",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="records",
                        to="ingestion.batch",
                    ),
                ),
                migrations.AlterField(
                    model_name="batchrecord",
                    name="tenant",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to="core.tenant",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
