"""Refuse UPDATE and DELETE of a fact row a decision may reference (issue 16, lean decisions).

A decision records the eligibility assertions and service events it used as the ids of their rows
(`billing.inputs`), so those rows are part of its explanation: once any decision exists for the
row's member and payer, the database refuses to change or delete the row, on PostgreSQL (a row
trigger; TRUNCATE, which the test suite uses to empty tables, does not fire it) and on SQLite
(triggers that RAISE(ABORT)). Both surface in Django as IntegrityError naming the table.

SQLite caution: a later migration that makes Django remake `billing_decision` on SQLite (most
AlterField/RemoveField operations) fails while these triggers name it ("error in trigger ...: no
such table"), and one that remakes a fact table drops its triggers: such a migration must drop
the triggers first and create them again after (`backward`/`forward` here). The refusal test in
tests/billing/test_lean_decisions.py fails if the triggers are missing.
"""

from django.db import migrations

FACT_TABLES = ("billing_eligibilityassertion", "billing_servicedeliveryevent")

PG_FORWARD = """
CREATE OR REPLACE FUNCTION billing_fact_row_immutable() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM billing_decision d
        WHERE d.member_id = OLD.member_id AND d.payer_id = OLD.payer_id
    ) THEN
        RAISE EXCEPTION
            '% row % is recorded in decisions and cannot be changed or deleted (% refused)',
            TG_TABLE_NAME, OLD.id, TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_immutable
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION billing_fact_row_immutable();
"""
    for table in FACT_TABLES
)

PG_BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};\n" for table in FACT_TABLES
) + ("DROP FUNCTION IF EXISTS billing_fact_row_immutable();\n")

SQLITE_FORWARD = [
    f"""
CREATE TRIGGER {table}_no_{op.lower()}
    BEFORE {op} ON {table}
    FOR EACH ROW WHEN EXISTS (
        SELECT 1 FROM billing_decision d
        WHERE d.member_id = OLD.member_id AND d.payer_id = OLD.payer_id
    )
BEGIN
    SELECT RAISE(ABORT,
        '{table} row is recorded in decisions and cannot be changed or deleted ({op} refused)');
END;
"""
    for table in FACT_TABLES
    for op in ("UPDATE", "DELETE")
]

SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()};"
    for table in FACT_TABLES
    for op in ("UPDATE", "DELETE")
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
        if vendor == "postgresql":
            cursor.execute(PG_FORWARD)
        elif vendor == "sqlite":
            for statement in SQLITE_FORWARD:
                cursor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(PG_BACKWARD)
        elif vendor == "sqlite":
            for statement in SQLITE_BACKWARD:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_decision_references_unconstrained")]

    operations = [migrations.RunPython(forward, backward)]
