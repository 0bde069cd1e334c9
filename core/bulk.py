"""Fast inserts: COPY on PostgreSQL (bulk_create escapes JSON slowly there), else bulk_create."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def bulk_insert(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """Insert unsaved instances (ids are not set on them). Call inside transaction.atomic()."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=2000)
        return
    from psycopg.types.json import Jsonb

    meta = [model._meta.get_field(name) for name in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in meta)
    json_fields = {f.attname for f in meta if isinstance(f, models.JSONField)}
    attnames = [f.attname for f in meta]
    connection.ensure_connection()
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row(
                [Jsonb(getattr(obj, a)) if a in json_fields else getattr(obj, a) for a in attnames]
            )
