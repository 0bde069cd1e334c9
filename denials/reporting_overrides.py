"""SQL of the override-rate reporting view (issue 14 item 6), two dialects like reporting_sql.

One row per (tenant, month, kind, user, payer): `overrides` counts the override's audit entries
(month of the entry, UTC; user = the payload's `requested_by`, else the audit actor; payer = the
payload's `payer`, else found through the object), and rows with an empty user carry the
`volume` the rate is taken of, per payer:

- force_match: REMITTANCE_CLAIM_FORCE_MATCHED of remittance claims matched (auto and forced) in
  the month (by `matched_at`, their current state);
- force_retry: CORRECTION_FORCE_RETRIED of correction attempts made in the month;
- manual_flip: MANUAL_FLIP of the denial state changes people made in the month (DENIAL_WORKED,
  _RESOLVED, _WRITTEN_OFF, _REOPENED, _RESOLVED_BY_REVERSAL and MANUAL_FLIP entries with a
  person as actor: the system's moves are no one's choice);
- cob_override: COB_OVERRIDE_SET of members with two or more coverages in force during the
  month (the last 24 months), each counted once, under the payer of their earliest coverage;
- reopen: DENIAL_REOPENED of write-offs (DENIAL_WRITTEN_OFF) in the month.

PostgreSQL: a materialized view with a unique index (refreshed CONCURRENTLY); SQLite: a table
refilled from the same SELECT. Both are refreshed with the claims views.
"""

# ruff: noqa: S608 - table names and SQL fragments are this module's constants; values
# always go as query parameters.

from __future__ import annotations

OVERRIDES = "denials_override_report"
COLUMNS = ("tenant_id", "month", "kind", "username", "payer", "overrides", "volume")

# kind -> (label, the override's audit action, what the volume counts)
KINDS: dict[str, tuple[str, str, str]] = {
    "force_match": (
        "Forced matches",
        "REMITTANCE_CLAIM_FORCE_MATCHED",
        "matched remittance claims",
    ),
    "force_retry": ("Force-retries", "CORRECTION_FORCE_RETRIED", "correction attempts"),
    "manual_flip": ("Manual flips", "MANUAL_FLIP", "denial state changes by people"),
    "cob_override": ("COB overrides", "COB_OVERRIDE_SET", "members with two or more coverages"),
    "reopen": ("Reopenings", "DENIAL_REOPENED", "write-offs"),
}
OVERRIDE_KINDS = tuple(KINDS)  # the API's enum (settings.SPECTACULAR ENUM_NAME_OVERRIDES)
DENIAL_CHANGES = (
    "DENIAL_WORKED",
    "DENIAL_RESOLVED",
    "DENIAL_WRITTEN_OFF",
    "DENIAL_REOPENED",
    "DENIAL_RESOLVED_BY_REVERSAL",  # a reversing 835's: the system's, so filtered out as not
    "MANUAL_FLIP",  # a person's (kept should a person ever write one)
)
COB_MONTHS = 24


def _month(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        return f"CAST(date_trunc('month', {column} AT TIME ZONE 'UTC') AS date)"
    return f"date({column}, 'start of month')"


def _json(vendor: str, column: str, key: str) -> str:
    if vendor == "postgresql":
        return f"({column}->>'{key}')"
    return f"json_extract({column}, '$.{key}')"


def _id_is(vendor: str, id_column: str, text_column: str) -> str:
    # object ids are text in the trail; PostgreSQL would fail casting a non-numeric one
    if vendor == "postgresql":
        return f"CAST({id_column} AS varchar) = {text_column}"
    return f"{id_column} = CAST({text_column} AS integer)"


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _events(vendor: str, kind: str, action: str, payer_join: str, payer_code: str) -> str:
    """Row-level override entries of one kind: who asked, for which payer."""
    user = f"COALESCE(NULLIF({_json(vendor, 'e.payload', 'requested_by')}, ''), e.actor_label)"
    payer = f"COALESCE(NULLIF({_json(vendor, 'e.payload', 'payer')}, ''), {payer_code}, '')"
    return f"""
SELECT e.tenant_id AS tenant_id, {_month(vendor, "e.at")} AS month, '{kind}' AS kind,
       {user} AS username, {payer} AS payer, 1 AS o, 0 AS v
FROM core_auditentry e {payer_join}
WHERE e.action = '{action}'"""


def _denial_join(vendor: str) -> str:
    return (
        "LEFT JOIN denials_denial d ON d.tenant_id = e.tenant_id "
        f"AND e.object_type = 'denials.Denial' AND {_id_is(vendor, 'd.id', 'e.object_id')} "
        "LEFT JOIN denials_claim dc ON dc.id = d.claim_id "
        "LEFT JOIN billing_payer dp ON dp.id = dc.payer_id"
    )


def _rc_join(vendor: str) -> str:
    same = _id_is(vendor, "rc.id", "e.object_id")
    return (
        "LEFT JOIN denials_remittanceclaim rc ON rc.tenant_id = e.tenant_id "
        f"AND e.object_type = 'denials.RemittanceClaim' AND {same} "
        "LEFT JOIN denials_remittance rr ON rr.id = rc.remittance_id "
        "LEFT JOIN billing_payer rp ON rp.id = rr.payer_id"
    )


def _cob_months(vendor: str) -> str:
    back = COB_MONTHS - 1
    if vendor == "postgresql":
        return f"""(SELECT CAST(g AS date) AS month, CAST(g + interval '1 month' AS date) AS next
FROM generate_series(date_trunc('month', CURRENT_DATE) - interval '{back} months',
                     date_trunc('month', CURRENT_DATE), interval '1 month') g)"""
    return f"""(WITH RECURSIVE ms(month, next, n) AS (
  SELECT date('now', 'start of month', '-{back} months'),
         date('now', 'start of month', '-{back - 1} months'), 1
  UNION ALL SELECT next, date(next, '+1 month'), n + 1 FROM ms WHERE n < {COB_MONTHS})
SELECT month, next FROM ms)"""


def _volumes(vendor: str) -> list[str]:
    in_force = "cv.effective < m.next AND (cv.termination IS NULL OR cv.termination >= m.month)"
    first_payer = """(SELECT p2.code FROM denials_coverage c2
  JOIN billing_payer p2 ON p2.id = c2.payer_id
  WHERE c2.tenant_id = x.tenant_id AND c2.member_id = x.member_id
    AND c2.effective < x.next AND (c2.termination IS NULL OR c2.termination >= x.month)
  ORDER BY c2.effective, c2.id LIMIT 1)"""
    people = "e.actor_id IS NOT NULL AND e.object_type = 'denials.Denial'"
    return [
        f"""
SELECT rc.tenant_id, {_month(vendor, "rc.matched_at")}, 'force_match', '', p.code, 0, 1
FROM denials_remittanceclaim rc
JOIN denials_remittance r ON r.id = rc.remittance_id
JOIN billing_payer p ON p.id = r.payer_id
WHERE rc.match_state IN ('MATCHED_AUTO', 'MATCHED_FORCED') AND rc.matched_at IS NOT NULL""",
        f"""
SELECT ca.tenant_id, {_month(vendor, "ca.created_at")}, 'force_retry', '', p.code, 0, 1
FROM denials_correctionattempt ca
JOIN denials_denial d ON d.id = ca.denial_id
JOIN denials_claim c ON c.id = d.claim_id
JOIN billing_payer p ON p.id = c.payer_id""",
        f"""
SELECT e.tenant_id, {_month(vendor, "e.at")}, 'manual_flip', '', COALESCE(dp.code, ''), 0, 1
FROM core_auditentry e {_denial_join(vendor)}
WHERE e.action IN ({_in(DENIAL_CHANGES)}) AND {people}""",
        f"""
SELECT e.tenant_id, {_month(vendor, "e.at")}, 'reopen', '', COALESCE(dp.code, ''), 0, 1
FROM core_auditentry e {_denial_join(vendor)}
WHERE e.action = 'DENIAL_WRITTEN_OFF'""",
        f"""
SELECT x.tenant_id, x.month, 'cob_override', '', COALESCE({first_payer}, ''), 0, 1
FROM (SELECT cv.tenant_id AS tenant_id, cv.member_id AS member_id, m.month AS month,
             m.next AS next
      FROM {_cob_months(vendor)} m
      JOIN denials_coverage cv ON {in_force}
      GROUP BY cv.tenant_id, cv.member_id, m.month, m.next
      HAVING COUNT(DISTINCT cv.payer_id) >= 2) x""",
    ]


def overrides_select(vendor: str) -> str:
    """Override counts and their volumes by tenant, month, kind, user and payer."""
    parts = [
        _events(vendor, "force_match", KINDS["force_match"][1], _rc_join(vendor), "rp.code"),
        _events(vendor, "force_retry", KINDS["force_retry"][1], _denial_join(vendor), "dp.code"),
        _events(vendor, "manual_flip", KINDS["manual_flip"][1], _denial_join(vendor), "dp.code"),
        _events(vendor, "cob_override", KINDS["cob_override"][1], "", "NULL"),
        _events(vendor, "reopen", KINDS["reopen"][1], _denial_join(vendor), "dp.code"),
        *_volumes(vendor),
    ]
    union = "\nUNION ALL".join(parts)
    return f"""
SELECT tenant_id, month, kind, username, payer, SUM(o) AS overrides, SUM(v) AS volume
FROM ({union}) u
GROUP BY tenant_id, month, kind, username, payer
"""


def create_statements(vendor: str) -> list[str]:
    """What migration 0005 runs: the view (a table on SQLite)."""
    if vendor == "postgresql":
        return [
            f"CREATE MATERIALIZED VIEW {OVERRIDES} AS {overrides_select(vendor)}",
            f"CREATE UNIQUE INDEX {OVERRIDES}_key ON {OVERRIDES} "
            "(tenant_id, month, kind, username, payer)",
        ]
    return [
        f"CREATE TABLE {OVERRIDES} (tenant_id bigint NOT NULL, month date NOT NULL, "
        "kind varchar(20) NOT NULL, username varchar(200) NOT NULL, payer varchar(30) NOT NULL, "
        "overrides integer NOT NULL, volume integer NOT NULL, "
        "PRIMARY KEY (tenant_id, month, kind, username, payer))"
    ]


def drop_statements(vendor: str) -> list[str]:
    """What migration 0005 runs backwards."""
    kind = "MATERIALIZED VIEW" if vendor == "postgresql" else "TABLE"
    return [f"DROP {kind} IF EXISTS {OVERRIDES}"]
