"""CSV exports of what the billing list screens show (filters kept); each download is audited."""

from __future__ import annotations

from collections.abc import Iterator

from billing.models import BillingRun
from billing.selectors import decision_list, override_list, run_list
from billing.selectors_workbench import RUN_EXPORT_HEADER, run_export_rows
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.phi_reads import PHI_EXPORT, record_phi_access

DECISION_LIST_HEADER = [
    "decision",
    "member_id",
    "payer_code",
    "month",
    "decision_class",
    "billable",
    "billable_days",
    "amount",
    "tier",
    "rule_version",
]


def run_list_export(actor: Actor, *, filters: dict) -> tuple[list[str], Iterator[list]]:
    """Header and rows of the runs list as filtered on screen (payer grants respected)."""
    actor.require(S.BILLING_RUN_VIEW)
    runs = run_list(actor, **filters)
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="EXPORT_DOWNLOADED",
        object_type="billing.BillingRun",
        object_id="",
        payload={"export": "runs list", "filters": _plain(filters)},
    )
    return RUN_EXPORT_HEADER, run_export_rows(actor, runs)


def decision_list_export(
    actor: Actor, *, run: BillingRun, filters: dict
) -> tuple[list[str], Iterator[list]]:
    """Header and rows of a run's decisions as filtered on its Decisions tab."""
    actor.require(S.BILLING_RUN_VIEW)
    rows = (
        decision_list(actor, run, **filters)
        .order_by("id")
        .values_list(
            "pk",
            "member__external_id",
            "payer__code",
            "month",
            "decision_class",
            "billable",
            "billable_days",
            "amount",
            "tier",
            "rule_version__version",
        )
        .iterator(chunk_size=2000)
    )
    # a member filter is a member id: record that it was used, never its value
    shape = _plain({k: v for k, v in filters.items() if k != "member"})
    record_phi_access(
        actor,
        PHI_EXPORT,
        run,
        export="decisions list",
        filters=shape,
        member_filter=bool(filters.get("member")),
    )
    return DECISION_LIST_HEADER, ([*r[:3], f"{r[3]:%Y-%m}", *r[4:]] for r in rows)


def _plain(filters: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v}


OVERRIDE_LIST_HEADER = [
    "override",
    "payer_code",
    "member_id",
    "month",
    "outcome",
    "rate",
    "reason",
    "created_by",
    "approved_by",
    "active",
    "created_at",
]


def override_list_export(actor: Actor) -> tuple[list[str], Iterator[list]]:
    """Header and rows of the member-month overrides list (payer grants respected), audited."""
    actor.require(S.BILLING_RUN_VIEW)
    record_phi_access(
        actor, PHI_EXPORT, object_type="billing.MemberMonthOverride", export="overrides list"
    )
    rows = (
        override_list(actor)
        .order_by("-created_at", "-id")
        .values_list(
            "pk",
            "payer__code",
            "member__external_id",
            "month",
            "outcome",
            "rate",
            "reason",
            "created_by__username",
            "approved_by__username",
            "active",
            "created_at",
        )
        .iterator(chunk_size=2000)
    )
    return OVERRIDE_LIST_HEADER, (
        [
            pk,
            payer,
            member,
            f"{month:%Y-%m}",
            outcome,
            rate,
            reason,
            by,
            approver,
            active,
            created.isoformat(),
        ]
        for pk, payer, member, month, outcome, rate, reason, by, approver, active, created in rows
    )
