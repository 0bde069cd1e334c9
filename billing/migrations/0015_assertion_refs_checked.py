"""Eligibility assertions keep their references without per-row foreign-key checks.

An eligibility load wrote five foreign-key checks per assertion (tenant, payer, member,
artifact, batch), each one index probe and one `FOR KEY SHARE` lock at commit: 500,000 for a
100,000-row file, the biggest single cost left in it (docs/benchmarks.md, "Ingestion"). The
table is append-only (rows are never deleted and, once a decision used them, never changed:
0012). What replaces the keys, on PostgreSQL:

- an AFTER INSERT statement trigger reads the statement's new rows (a transition table) and
  checks each distinct reference once, set-based: member, payer, batch and artifact must exist
  **under the row's tenant** (stronger than the keys were; members, payers, batches and
  artifacts keep their own keys to the tenant). Parents are locked `FOR KEY SHARE`, as the keys
  did, so a concurrent delete waits for the insert and then sees its rows;
- a row trigger checks an UPDATE that changes a reference the same way;
- deleting a member, payer, batch or artifact still referenced by an assertion is refused
  (statement triggers; the ORM's PROTECT refuses first). TRUNCATE does not fire triggers.

Both surface as IntegrityError. On SQLite (the embedded default) the database keeps its
foreign keys: only the model state says "no constraint" (SQLite triggers would have to name
the parent tables, and SQLite then refuses any later migration that remakes one of them, see
0012; remaking this table would also drop 0012's triggers). Tested in
tests/billing/test_assertion_refs.py.
"""

from django.db import migrations, models

TABLE = "billing_eligibilityassertion"
# (column, parent table, nullable)
REFS = (
    ("member_id", "billing_member", False),
    ("payer_id", "billing_payer", False),
    ("batch_id", "ingestion_batch", True),
    ("artifact_id", "ingestion_artifact", True),
)


def _missing(column: str, parent: str, nullable: bool) -> str:
    where = f" WHERE {column} IS NOT NULL" if nullable else ""
    return f"""
        SELECT '{column[:-3]}' AS ref, count(*) AS n
          FROM (SELECT DISTINCT {column} AS id, tenant_id FROM new_rows{where}) r
         WHERE NOT EXISTS (SELECT 1 FROM {parent} p
                            WHERE p.id = r.id AND p.tenant_id = r.tenant_id FOR KEY SHARE)"""


def _row_missing(column: str, parent: str, nullable: bool) -> str:
    test = f"NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = NEW.{column}"
    test += " AND p.tenant_id = NEW.tenant_id FOR KEY SHARE)"
    return f"(NEW.{column} IS NOT NULL AND {test})" if nullable else test


PG_FORWARD = (
    f"""
CREATE OR REPLACE FUNCTION billing_assertion_refs_check() RETURNS trigger AS $$
DECLARE
    bad text;
BEGIN
    SELECT string_agg(format('%s %s', n, ref), ', ') INTO bad FROM ("""
    + "\n        UNION ALL".join(_missing(*ref) for ref in REFS)
    + f"""
    ) c WHERE n > 0;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION
            '{TABLE} rows reference rows that do not exist under their tenant: %', bad
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_assertion_refs_update_check() RETURNS trigger AS $$
BEGIN
    IF """
    + "\n       OR ".join(_row_missing(*ref) for ref in REFS)
    + f""" THEN
        RAISE EXCEPTION
            '{TABLE} row % would reference rows that do not exist under its tenant', NEW.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {TABLE}_refs
    AFTER INSERT ON {TABLE} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION billing_assertion_refs_check();
CREATE TRIGGER {TABLE}_refs_update
    AFTER UPDATE OF tenant_id, member_id, payer_id, batch_id, artifact_id ON {TABLE}
    FOR EACH ROW WHEN ("""
    + " OR ".join(
        f"OLD.{c} IS DISTINCT FROM NEW.{c}"
        for c in ("tenant_id", "member_id", "payer_id", "batch_id", "artifact_id")
    )
    + """)
    EXECUTE FUNCTION billing_assertion_refs_update_check();
"""
    + "".join(
        f"""
CREATE TRIGGER {parent}_assertion_refs
    AFTER DELETE ON {parent} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION refs_parent_delete_check('{TABLE}', '{column}');
"""
        for column, parent, _ in REFS
    )
)

PG_BACKWARD = (
    "".join(
        f"DROP TRIGGER IF EXISTS {parent}_assertion_refs ON {parent};\n" for _, parent, _ in REFS
    )
    + f"""
DROP TRIGGER IF EXISTS {TABLE}_refs_update ON {TABLE};
DROP TRIGGER IF EXISTS {TABLE}_refs ON {TABLE};
DROP FUNCTION IF EXISTS billing_assertion_refs_update_check();
DROP FUNCTION IF EXISTS billing_assertion_refs_check();
"""
)

DROP_FKS = f"""
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
              WHERE conrelid = '{TABLE}'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE {TABLE} DROP CONSTRAINT %I', c.conname);
    END LOOP;
END;
$$;
"""
ADD_FKS = "".join(
    f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE[:40]}_{column}_fk FOREIGN KEY ({column})"
    f" REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED;\n"
    for column, parent in (*((c, p) for c, p, _ in REFS), ("tenant_id", "core_tenant"))
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(DROP_FKS)
            cursor.execute(PG_FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(PG_BACKWARD)
            cursor.execute(ADD_FKS)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0014_chunk_worker"),
        ("core", "0006_watchdog"),
        ("ingestion", "0007_records_refs_checked"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="eligibilityassertion",
                    name=name,
                    field=models.ForeignKey(
                        blank=nullable,
                        null=nullable,
                        db_constraint=False,
                        on_delete=models.deletion.PROTECT,
                        related_name=related,
                        to=to,
                    ),
                )
                for name, to, related, nullable in (
                    ("artifact", "ingestion.artifact", "+", True),
                    ("batch", "ingestion.batch", "+", True),
                    ("member", "billing.member", "assertions", False),
                    ("payer", "billing.payer", "assertions", False),
                    ("tenant", "core.tenant", "+", False),
                )
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
