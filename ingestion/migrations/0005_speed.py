from django.db import migrations, models
import django.db.models.deletion

# The unique (batch, row_number) index leads with batch_id, so the foreign key's own index only
# costs writes. Dropping the index alone (not the AlterField's drop and re-add of the foreign
# key, which would re-check every record under a lock) keeps this quick on a big table.
INDEX = "ingestion_batchrecord_batch_id_d4c8c7af"


class Migration(migrations.Migration):

    dependencies = [
        ("ingestion", "0004_coverage_kind"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="batchrecord",
                    name="batch",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="records",
                        to="ingestion.batch",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON ingestion_batchrecord (batch_id)",
                ),
            ],
        ),
    ]
