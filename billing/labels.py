"""How billing's codes read on screens (codes stay unchanged in the API and CSVs)."""

from __future__ import annotations

DECISION_CLASSES = {
    "BILLED_ACTIVE": "Billed: active",
    "BILLED_PARTIAL_TERM": "Billed: partial month (terminated)",
    "BILLED_RETROACTIVE": "Billed: retroactive correction",
    "NOT_BILLED_RETROACTIVE": "Not billed: retroactive refund",
    "NOT_BILLED_NO_SERVICE": "Not billed: no service",
    "NOT_BILLED_TERMINATED": "Not billed: terminated",
    "NOT_BILLED_PENDING": "Not billed: pending",
    "OVERRIDE_APPLIED": "Override applied",
}

RUN_STATES = {
    "QUEUED": "Queued",
    "RUNNING": "Running",
    "COMPLETED": "Completed",
    "COMPLETED_WITH_EXCEPTIONS": "Completed with exceptions",
    "FAILED": "Failed",
    "CANCELLED": "Cancelled",
    "SUPERSEDED": "Superseded",
    "PRODUCTION": "Production",
    "SIMULATION": "Simulation",
}

EXCEPTION_CODES = {
    "CONTRADICTORY_ASSERTIONS": "Contradictory assertions",
    "UNKNOWN_BENEFIT_COMBINATION": "Unknown benefit combination",
    "NO_PRICING_TIER": "No pricing tier",
    "RETRO_OUTSIDE_WINDOW": "Retroactive change outside the window",
    "NO_RULE_VERSION": "No rule version",
}

AUDIT_ACTIONS = {
    "RUN_TRIGGERED": "Run triggered",
    "RUN_STARTED": "Run started",
    "RUN_COMPLETED": "Run completed",
    "RUN_CLOSED": "Run closed",
    "RUN_FAILED": "Run failed",
    "RUN_CANCELLED": "Run cancelled",
    "RUN_SUPERSEDED": "Run superseded",
    "RUN_EXCEPTION_RESOLVED": "Exception resolved",
    "RUN_EXCEPTIONS_RESOLVED": "All exceptions resolved",
    "EXPORT_DOWNLOADED": "Export downloaded",
    "DECISION_REPLAYED": "Decision replayed",
    "AUDIT_PACKAGE_REQUESTED": "Audit package requested",
    "AUDIT_PACKAGE_BUILDING": "Audit package building",
    "AUDIT_PACKAGE_READY": "Audit package ready",
    "AUDIT_PACKAGE_FAILED": "Audit package failed",
    "RULE_VERSION_CREATED": "Rule version created",
    "RULE_VERSION_CHANGED": "Rule version changed",
    "RULE_VERSION_ACTIVATED": "Rule version activated",
    "RULE_VERSION_RETIRED": "Rule version retired",
    "MEMBER_MONTH_OVERRIDE_APPLIED": "Member-month override applied",
    "PAYER_CREATED": "Payer created",
}


def register() -> None:
    """Give core's `label` filter billing's wording."""
    from core.labels import register_labels

    for table in (DECISION_CLASSES, RUN_STATES, EXCEPTION_CODES, AUDIT_ACTIONS):
        register_labels(table)
