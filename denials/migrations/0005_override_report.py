"""The override-rate reporting view (issue 14 item 6): a PostgreSQL materialized view with a
unique index (refreshed CONCURRENTLY with the claims views), a plain table on SQLite."""

from django.db import migrations

from denials.reporting_overrides import create_statements, drop_statements


def forward(apps, schema_editor):
    for sql in create_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    for sql in drop_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("denials", "0004_denial_work"),
        ("core", "0004_worker_heartbeat_invitation"),
        ("billing", "0010_payer_x12_payer_id"),
    ]

    operations = [migrations.RunPython(forward, backward)]
