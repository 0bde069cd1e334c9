"""Fast inserts: COPY on PostgreSQL (bulk_create escapes JSON slowly there), else bulk_create."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert plain tuples (values in `fields` order; FKs as ids). Call inside atomic()."""
    meta = [model._meta.get_field(name) for name in fields]
    attnames = [f.attname for f in meta]
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=2000)
        return
    from psycopg.types.json import Jsonb

    json_at = [i for i, f in enumerate(meta) if isinstance(f, models.JSONField)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in meta)
    connection.ensure_connection()
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)


def bulk_insert(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """Insert unsaved instances (ids are not set on them). Call inside transaction.atomic()."""
    if not objs:
        return
    attnames = [model._meta.get_field(name).attname for name in fields]
    insert_rows(model, fields, ([getattr(o, a) for a in attnames] for o in objs))
