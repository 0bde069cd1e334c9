"""SQL of the claims reporting views (issue 13 item 10): one SELECT each, two dialects.

On PostgreSQL they are materialized views (unique indexes, so they refresh CONCURRENTLY); on
SQLite plain tables refilled from the same SELECT. Money is summed from payment applications
only; a reversal counts against the kind it reverses (a payment when it names none), so for every
row billed = paid + adjusted + patient responsibility + written off + open.
"""

# ruff: noqa: S608 - table names and SQL fragments are this module's constants; values
# always go as query parameters.

from __future__ import annotations

RECON = "denials_recon_report"
OPEN = "denials_open_report"
META = "denials_reporting_refresh"

_REDUCING = ("ADJUSTMENT", "PATIENT_RESPONSIBILITY", "WRITEOFF")


def _kind_sum(kind: str) -> str:
    if kind == "PAYMENT":  # payments, and reversals of anything that is not another kind
        others = ", ".join(f"'{k}'" for k in _REDUCING)
        reversal = f"COALESCE(r.kind, 'PAYMENT') NOT IN ({others})"
    else:
        reversal = f"r.kind = '{kind}'"
    return (
        f"SUM(CASE WHEN pa.kind = '{kind}' THEN pa.amount "
        f"WHEN pa.kind = 'REVERSAL' AND {reversal} THEN -pa.amount ELSE 0 END)"
    )


_APPLIED = f"""
SELECT pa.claim_id AS claim_id,
       {_kind_sum("PAYMENT")} AS paid,
       {_kind_sum("ADJUSTMENT")} AS adjusted,
       {_kind_sum("PATIENT_RESPONSIBILITY")} AS patient,
       {_kind_sum("WRITEOFF")} AS written_off,
       SUM(CASE WHEN pa.kind = 'REVERSAL' THEN -pa.amount ELSE pa.amount END) AS applied
FROM denials_paymentapplication pa
LEFT JOIN denials_paymentapplication r ON r.id = pa.reverses_id
GROUP BY pa.claim_id
"""

_MONTH = {
    "postgresql": "CAST(date_trunc('month', c.service_date) AS date)",
    "sqlite": "date(c.service_date, 'start of month')",
}
_BASE_DATE = {
    "postgresql": "CAST(COALESCE(c.submitted_at AT TIME ZONE 'UTC', c.service_date) AS date)",
    "sqlite": "date(COALESCE(c.submitted_at, c.service_date))",
}

RECON_COLUMNS = (
    "tenant_id",
    "payer_id",
    "month",
    "claims",
    "billed",
    "paid",
    "adjusted",
    "patient_responsibility",
    "written_off",
    "open_amount",
)
OPEN_COLUMNS = ("tenant_id", "payer_id", "base_date", "claims", "open_amount")


def recon_select(vendor: str) -> str:
    """Claims by tenant, payer and service month: billed, what was applied, what stays open."""
    month = _MONTH[vendor]
    return f"""
SELECT c.tenant_id AS tenant_id, c.payer_id AS payer_id, {month} AS month,
       COUNT(*) AS claims,
       SUM(c.billed_amount) AS billed,
       SUM(COALESCE(a.paid, 0)) AS paid,
       SUM(COALESCE(a.adjusted, 0)) AS adjusted,
       SUM(COALESCE(a.patient, 0)) AS patient_responsibility,
       SUM(COALESCE(a.written_off, 0)) AS written_off,
       SUM(c.billed_amount - COALESCE(a.applied, 0)) AS open_amount
FROM denials_claim c
LEFT JOIN ({_APPLIED}) a ON a.claim_id = c.id
GROUP BY c.tenant_id, c.payer_id, {month}
"""


# A claim whose replacement went out leaves open AR (issue 14). Migration 0003 ran before the
# replacement column existed, so it builds the view without this; a later migration recreates
# the PostgreSQL view with `open_view_statements(vendor)`.
_REPLACED = """
  AND NOT EXISTS (
      SELECT 1 FROM denials_claim r WHERE r.original_id = c.id AND r.status <> 'BUILT'
  )"""


def open_select(vendor: str, *, replacements: bool = True) -> str:
    """Open receivables (claims out with the payer, balance above zero) by the day they went out.

    Aging buckets are cut from this at read time, against any as-of day. A claim whose
    replacement (auto-correction, frequency 7) went out is left out: the replacement asks for
    the same money and carries the receivable from then on, so it is not counted twice.
    """
    base = _BASE_DATE[vendor]
    return f"""
SELECT c.tenant_id AS tenant_id, c.payer_id AS payer_id, {base} AS base_date,
       COUNT(*) AS claims,
       SUM(c.billed_amount - COALESCE(a.applied, 0)) AS open_amount
FROM denials_claim c
LEFT JOIN ({_APPLIED}) a ON a.claim_id = c.id
WHERE c.status NOT IN ('BUILT', 'CLOSED')
  AND c.billed_amount - COALESCE(a.applied, 0) > 0{_REPLACED if replacements else ""}
GROUP BY c.tenant_id, c.payer_id, {base}
"""


def create_statements(vendor: str) -> list[str]:
    """What the migration runs: the two views (tables on SQLite) and the refresh log."""
    meta = (
        f"CREATE TABLE {META} (name varchar(40) PRIMARY KEY, refreshed_at varchar(40) NOT NULL, "
        "row_count integer NOT NULL)"
    )
    if vendor == "postgresql":
        return [
            f"CREATE MATERIALIZED VIEW {RECON} AS {recon_select(vendor)}",
            f"CREATE UNIQUE INDEX {RECON}_key ON {RECON} (tenant_id, payer_id, month)",
            f"CREATE MATERIALIZED VIEW {OPEN} AS {open_select(vendor, replacements=False)}",
            f"CREATE UNIQUE INDEX {OPEN}_key ON {OPEN} (tenant_id, payer_id, base_date)",
            meta,
        ]
    money = "decimal"
    return [
        f"CREATE TABLE {RECON} (tenant_id bigint NOT NULL, payer_id bigint NOT NULL, "
        f"month date NOT NULL, claims integer NOT NULL, billed {money}, paid {money}, "
        f"adjusted {money}, patient_responsibility {money}, written_off {money}, "
        f"open_amount {money}, PRIMARY KEY (tenant_id, payer_id, month))",
        f"CREATE TABLE {OPEN} (tenant_id bigint NOT NULL, payer_id bigint NOT NULL, "
        f"base_date date NOT NULL, claims integer NOT NULL, open_amount {money}, "
        "PRIMARY KEY (tenant_id, payer_id, base_date))",
        meta,
    ]


def open_view_statements(vendor: str) -> list[str]:
    """What a migration runs to redefine the open-AR view with today's select (PostgreSQL; the
    SQLite table is refilled from `open_select` at each refresh)."""
    if vendor != "postgresql":
        return []
    return [
        f"DROP MATERIALIZED VIEW IF EXISTS {OPEN}",
        f"CREATE MATERIALIZED VIEW {OPEN} AS {open_select(vendor)}",
        f"CREATE UNIQUE INDEX {OPEN}_key ON {OPEN} (tenant_id, payer_id, base_date)",
    ]


def drop_statements(vendor: str) -> list[str]:
    """What the migration runs backwards."""
    kind = "MATERIALIZED VIEW" if vendor == "postgresql" else "TABLE"
    return [
        f"DROP {kind} IF EXISTS {RECON}",
        f"DROP {kind} IF EXISTS {OPEN}",
        f"DROP TABLE IF EXISTS {META}",
    ]
