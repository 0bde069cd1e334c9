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
    import orjson
    from psycopg.types.json import Jsonb

    def dumps(value) -> str:
        return orjson.dumps(value, default=str).decode()

    json_at = [i for i, f in enumerate(meta) if isinstance(f, models.JSONField)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in meta)
    connection.ensure_connection()
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = Jsonb(row[i], dumps=dumps)
            copy.write_row(row)


def bulk_insert(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> None:
    """Insert unsaved instances (ids are not set on them). Call inside transaction.atomic()."""
    if not objs:
        return
    attnames = [model._meta.get_field(name).attname for name in fields]
    insert_rows(model, fields, ([getattr(o, a) for a in attnames] for o in objs))


def fetch_rows(queryset: models.QuerySet) -> list[tuple]:
    """The rows of a `values_list()` queryset; on PostgreSQL without the ORM's per-row work.

    Only for plain columns (no JSON, no annotations): rows come back exactly as the driver reads
    them, which on PostgreSQL are already dates, aware datetimes and Decimals.
    """
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def update_rows(
    model: type[models.Model],
    objs: Sequence[models.Model],
    fields: Sequence[str],
    *,
    still_null: Sequence[str] = (),
) -> int:
    """`bulk_update` of instances by pk without its CASE per row (call inside atomic()).

    On PostgreSQL one `UPDATE ... FROM unnest(arrays)` per call; elsewhere `bulk_update`.
    Only rows whose `still_null` fields are still NULL are written; returns how many were.
    """
    if not objs or not fields:
        return 0
    if connection.vendor != "postgresql":
        qs = model.objects.filter(**{f"{name}__isnull": True for name in still_null})
        return qs.bulk_update(objs, list(fields), batch_size=1000)
    qn = connection.ops.quote_name
    pk = model._meta.pk
    meta = [model._meta.get_field(name) for name in fields]
    columns = [pk, *meta]
    selects = ", ".join(
        f"unnest(%s::{f.rel_db_type(connection) if f is pk else f.db_type(connection)}[]) "
        f"AS {qn(f.column)}"
        for f in columns
    )
    sets = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in meta)
    nulls = "".join(
        f" AND t.{qn(model._meta.get_field(name).column)} IS NULL" for name in still_null
    )
    params = [
        [f.get_db_prep_save(getattr(o, f.attname), connection) for o in objs] for f in columns
    ]
    # Identifiers come from the model's meta, values go as parameters.
    sql = f"UPDATE {qn(model._meta.db_table)} AS t SET {sets} FROM (SELECT {selects}) AS v "  # noqa: S608
    sql += f"WHERE t.{qn(pk.column)} = v.{qn(pk.column)}{nulls}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def pg_execute(sql: str, params: Sequence) -> list[tuple]:
    """Run one PostgreSQL statement with server-side binding and binary parameters; its rows.

    Django's psycopg cursors quote every parameter into the SQL text on the client; for arrays
    of thousands of values that quoting is pure Python and cost ~10 % of an ingestion load.
    Here the values travel as binary parameters: write `%b` (not `%s`) for each. Call inside
    atomic(); errors come out as Django's (IntegrityError ...). Returns [] for a statement that
    returns no rows.
    """
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []
