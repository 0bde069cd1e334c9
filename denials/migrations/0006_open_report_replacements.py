"""Open AR leaves out a claim whose replacement went out (the replacement carries the amount):
PostgreSQL's materialized view is redefined from the new select; SQLite refills its table from
it at each refresh, so there is nothing to do there."""

from django.db import migrations

from denials.reporting_sql import open_view_statements


def forwards(apps, schema_editor):
    for sql in open_view_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("denials", "0005_override_report")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
