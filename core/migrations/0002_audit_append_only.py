"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE on the audit table (SPEC 3).

TRUNCATE is allowed only in a session that sets `healthbill.audit_allow_truncate = 'on'`, which the
test suite does so it can empty the database between tests; nothing in the product sets it.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION core_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('healthbill.audit_allow_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'core_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_auditentry_no_update_delete
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_append_only();

CREATE TRIGGER core_auditentry_no_truncate
    BEFORE TRUNCATE ON core_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;
DROP TRIGGER IF EXISTS core_auditentry_no_update_delete ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no params: '%' stays literal
            cursor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
