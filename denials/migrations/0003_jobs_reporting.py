"""The claims reporting views: PostgreSQL materialized views (refreshed CONCURRENTLY, so each has
a unique index), plain tables on SQLite; and the log of when they were last refreshed."""

from django.db import migrations

from denials.reporting_sql import create_statements, drop_statements


def forward(apps, schema_editor):
    for sql in create_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    for sql in drop_statements(schema_editor.connection.vendor):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("denials", "0002_settings_837_denial_unique")]

    operations = [migrations.RunPython(forward, backward)]
