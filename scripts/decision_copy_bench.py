"""COPY of a run's decision rows as written, full vs lean inputs, under the old and new schema.

Issue 16 (lean decision rows). PostgreSQL only. Takes the decisions of the latest run with at least
`--decisions` rows (e.g. after `manage.py bench billing --members 100000`), builds both forms of
their inputs (full assertion/service rows, as before; ids only, as now), and times a COPY of them
into scratch tables: bare (the floor), the old 11 indexes, the old indexes plus the old 5 foreign
keys, and the new 7 indexes. Prints one JSON line per measurement, then drops the tables.

    DATABASE_URL=postgres://.../bench_x .venv/bin/python scripts/decision_copy_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import orjson  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from billing.engine.evaluate import assertion_row, service_row  # noqa: E402
from billing.engine.types import Assertion, ServiceEvent  # noqa: E402
from billing.models import Decision, EligibilityAssertion, ServiceDeliveryEvent  # noqa: E402

COLUMNS = (
    "id",
    "tenant_id",
    "run_id",
    "payer_id",
    "member_id",
    "month",
    "decision_class",
    "billable",
    "billable_days",
    "amount",
    "rule_version_id",
    "tier",
    "inputs",
)
COMPOSITE = [
    "UNIQUE (run_id, payer_id, member_id, month)",
    "INDEX (run_id, decision_class, id)",
    "INDEX (run_id, id)",
    "INDEX (run_id, member_id)",
    "INDEX (tenant_id, payer_id, month, member_id)",
]
STATS = (
    "SELECT pg_total_relation_size('{table}'), pg_relation_size('{table}'),"
    " avg(pg_column_size(inputs)), avg(octet_length(inputs::text)) FROM {table}"
)
FK_INDEXES = ["tenant_id", "run_id", "payer_id", "member_id", "rule_version_id"]
FKS = {
    "tenant_id": "core_tenant",
    "run_id": "billing_billingrun",
    "payer_id": "billing_payer",
    "member_id": "billing_member",
    "rule_version_id": "billing_ruleversion",
}


def _schema(table: str, kind: str) -> list[str]:
    sql = [
        f"DROP TABLE IF EXISTS {table}",
        f"CREATE TABLE {table} (LIKE billing_decision INCLUDING DEFAULTS)",
    ]
    if kind == "bare":
        return sql
    sql.append(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
    for n, spec in enumerate(COMPOSITE):
        if spec.startswith("UNIQUE"):
            sql.append(f"ALTER TABLE {table} ADD CONSTRAINT {table}_u{n} {spec}")
        else:
            sql.append(f"CREATE INDEX {table}_i{n} ON {table} {spec[len('INDEX ') :]}")
    if kind.startswith("old"):
        for col in FK_INDEXES:
            sql.append(f"CREATE INDEX {table}_{col} ON {table} ({col})")
    else:  # new: only the member index stays of the FK indexes
        sql.append(f"CREATE INDEX {table}_member_id ON {table} (member_id)")
    if kind == "old+fk":
        for col, parent in FKS.items():
            sql.append(
                f"ALTER TABLE {table} ADD CONSTRAINT {table}_{col}_fk FOREIGN KEY ({col}) "
                f"REFERENCES {parent} (id) DEFERRABLE INITIALLY DEFERRED"
            )
    return sql


def _copy(table: str, rows: list[tuple]) -> float:
    connection.ensure_connection()
    with transaction.atomic():
        start = time.perf_counter()
        with (
            connection.connection.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as cp,
        ):
            for row in rows:
                cp.write_row(row)
        with connection.cursor() as cursor:  # deferred FK checks run at commit: time them
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=100_000)
    args = parser.parse_args()
    run_id = (
        Decision.objects.values("run_id")
        .annotate(n=Count("id"))
        .filter(n__gte=args.decisions)
        .order_by("-run_id")
        .values_list("run_id", flat=True)
        .first()
    )
    base = list(
        Decision.objects.filter(run_id=run_id)
        .order_by("id")
        .values_list(*COLUMNS)[: args.decisions]
    )
    tenant_id = base[0][1]
    assertions = {
        row[0]: assertion_row(Assertion(*row))
        for row in EligibilityAssertion.objects.filter(tenant_id=tenant_id).values_list(
            "id",
            "source_kind",
            "file_date",
            "received_at",
            "status",
            "effective_date",
            "termination_date",
            "benefit_code",
            "benefit_suffix",
        )
    }
    services = {
        row[0]: service_row(ServiceEvent(*row))
        for row in ServiceDeliveryEvent.objects.filter(tenant_id=tenant_id).values_list(
            "id", "service_date", "service_code", "received_at"
        )
    }

    def full(inputs: dict) -> dict:
        return {
            **inputs,
            "assertions": [assertions[i] for i in inputs["assertions"]],
            "services": [services[i] for i in inputs["services"]],
        }

    def dumps(value) -> str:
        return orjson.dumps(value, default=str).decode()

    forms = {
        "full": [(*r[:-1], Jsonb(full(r[-1]), dumps=dumps)) for r in base],
        "lean": [(*r[:-1], Jsonb(r[-1], dumps=dumps)) for r in base],
    }
    load = os.getloadavg()
    for form, kinds in (
        ("full", ("bare", "old", "old+fk", "new")),
        ("lean", ("bare", "old", "old+fk", "new")),
    ):
        for kind in kinds:
            table = "scratch_decision_copy"
            with connection.cursor() as cursor:
                for sql in _schema(table, kind):
                    cursor.execute(sql)
            seconds = _copy(table, forms[form])
            with connection.cursor() as cursor:
                cursor.execute(STATS.format(table=table))
                total, heap, col, text = cursor.fetchone()
            print(
                json.dumps(
                    {
                        "inputs": form,
                        "schema": kind,
                        "rows": len(base),
                        "copy_seconds": round(seconds, 3),
                        "total_mb": round(total / 2**20, 1),
                        "heap_mb": round(heap / 2**20, 1),
                        "inputs_stored_bytes": round(float(col), 1),
                        "inputs_text_bytes": round(float(text), 1),
                        "load_avg": [round(x, 2) for x in load],
                    }
                ),
                flush=True,
            )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS scratch_decision_copy")


if __name__ == "__main__":
    main()
