"""On PostgreSQL, tell the planner that a decision's run, tenant and payer go together.

Without these extended statistics the planner multiplies the three filters' selectivities,
expects a handful of rows where a run has a hundred thousand, and sorts them all to show 50.
"""

from django.db import migrations

FORWARD = (
    "CREATE STATISTICS IF NOT EXISTS billing_decision_run_deps (dependencies) "
    "ON run_id, tenant_id, payer_id FROM billing_decision"
)
BACKWARD = "DROP STATISTICS IF EXISTS billing_decision_run_deps"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_run_decision_bounds")]

    operations = [migrations.RunPython(forward, backward)]
