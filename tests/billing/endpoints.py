"""Billing's API endpoints in the permission matrix (SPEC 2, 4, 9).

Every setup builds fresh objects of tenant A (a new payer each time), so one role's success
(a regeneration, a cancel, an activation) never blocks the next role's attempt.
"""

from __future__ import annotations

from billing.services.overrides import member_month_override_request
from core import scopes as S
from tests.billing import api_builders as b
from tests.permissions import Endpoint, register

VIEW, TRIGGER = S.BILLING_RUN_VIEW, S.BILLING_RUN_TRIGGER
RULES, OVERRIDE = S.BILLING_RULES_MANAGE, S.BILLING_OVERRIDE_CREATE
REPLAY, RESOLVE = S.BILLING_DECISION_REPLAY, S.BILLING_EXCEPTION_RESOLVE
OK, CREATED = frozenset({200}), frozenset({201})


def _payer(world) -> dict:
    p = b.payer(world.tenant)
    return {"payer": p.code}


def _payer_with_rules(world) -> dict:
    p = b.payer_with_rules(world.tenant)
    return {"payer": p.code}


def _draft(world) -> dict:
    p = b.payer_with_rules(world.tenant)
    rv = b.rule_version(world.tenant, p, version="v2", activate=False)
    return {"payer": p.code, "rule_version": rv.pk}


def _active(world) -> dict:
    p = b.payer(world.tenant)
    rv = b.rule_version(world.tenant, p)
    return {"payer": p.code, "rule_version": rv.pk}


def _member(world) -> dict:
    p = b.payer_with_rules(world.tenant)
    m = b.member(world.tenant, p)
    return {"payer": p.code, "member": m.external_id}


def _override(world) -> dict:
    ctx = _member(world)
    member_month_override_request(
        actor=world.actor(S.Role.OWNER),
        payer_code=ctx["payer"],
        member_external_id=ctx["member"],
        month=b.MONTH,
        outcome="NOT_BILLABLE",
        reason="matrix check",
    )
    return ctx


def _queued_run(world) -> dict:
    p = b.billed_payer(world.tenant)
    run = b.trigger(world.tenant, [p])
    return {"payer": p.code, "run": run.pk}


def _completed_run(world) -> dict:
    """A fresh payer's completed production run with a billable decision and an exception."""
    run, exc = b.run_with_exception(world.tenant)
    decision = b.a_decision(run)
    return {
        "payer": exc.payer.code,
        "run": run.pk,
        "decision": decision.pk,
        "exception": exc.pk,
    }


def _shared_completed_run(world) -> dict:
    """One completed run per test, for the endpoints that only read it (or replay, which
    writes nothing but an audit entry): each completed production run also builds its PDF."""
    ctx = getattr(world, "_billing_completed_run", None)
    if ctx is None:
        ctx = _completed_run(world)
        world._billing_completed_run = ctx
    return ctx


def _code(ctx) -> str:
    return f'"{ctx["payer"]}"'


def _run_marker(ctx) -> str:
    return f'"payers":["{ctx["payer"]}"]'


_rv_url = lambda c: f"/api/billing/rule-versions/{c['rule_version']}"  # noqa: E731
_run_url = lambda c: f"/api/billing/runs/{c['run']}"  # noqa: E731

register(
    # rule versions
    Endpoint(
        "api billing rule versions list",
        "GET",
        lambda c: "/api/billing/rule-versions",
        VIEW,
        setup=_payer_with_rules,
        success=OK,
        marker=_code,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing rule version create",
        "POST",
        lambda c: "/api/billing/rule-versions",
        RULES,
        setup=_payer,
        data=lambda c: {
            "payer": c["payer"],
            "version": "v1",
            "effective_from": "2025-01-01",
            "params": b.params(),
        },
        success=CREATED,
    ),
    Endpoint(
        "api billing rule version detail",
        "GET",
        _rv_url,
        VIEW,
        setup=_active,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing rule version update",
        "PATCH",
        _rv_url,
        RULES,
        setup=_draft,
        data=lambda c: {"params": b.params(min_billable_days=2)},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing rule version activate",
        "POST",
        lambda c: f"{_rv_url(c)}/activate",
        RULES,
        setup=_draft,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing rule version retire",
        "POST",
        lambda c: f"{_rv_url(c)}/retire",
        RULES,
        setup=_active,
        success=OK,
        object_of_tenant=True,
    ),
    # member-month overrides
    Endpoint(
        "api billing overrides list",
        "GET",
        lambda c: "/api/billing/overrides",
        VIEW,
        setup=_override,
        success=OK,
        marker=_code,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing override create",
        "POST",
        lambda c: "/api/billing/overrides",
        OVERRIDE,
        setup=_member,
        data=lambda c: {
            "payer": c["payer"],
            "member": c["member"],
            "month": b.MONTH_TEXT,
            "outcome": "NOT_BILLABLE",
            "reason": "member moved abroad",
        },
        success=CREATED,
    ),
    # runs
    Endpoint(
        "api billing runs list",
        "GET",
        lambda c: "/api/billing/runs",
        VIEW,
        setup=_queued_run,
        success=OK,
        marker=_run_marker,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing run trigger",
        "POST",
        lambda c: "/api/billing/runs",
        TRIGGER,
        setup=_payer_with_rules,
        data=lambda c: {"month": b.MONTH_TEXT, "payers": [c["payer"]], "mode": "SIMULATION"},
        success=CREATED,
    ),
    Endpoint(
        "api billing run detail",
        "GET",
        _run_url,
        VIEW,
        setup=_queued_run,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing run regenerate",
        "POST",
        lambda c: f"{_run_url(c)}/regenerate",
        TRIGGER,
        setup=_completed_run,
        data=lambda c: {"reason": "corrected eligibility file"},
        success=CREATED,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing run cancel",
        "POST",
        lambda c: f"{_run_url(c)}/cancel",
        TRIGGER,
        setup=_queued_run,
        data=lambda c: {"reason": "wrong month"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing run decisions",
        "GET",
        lambda c: f"{_run_url(c)}/decisions",
        VIEW,
        setup=_shared_completed_run,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing run exceptions",
        "GET",
        lambda c: f"{_run_url(c)}/exceptions",
        VIEW,
        setup=_shared_completed_run,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing run exceptions bulk resolve",
        "POST",
        lambda c: f"{_run_url(c)}/exceptions/resolve",
        RESOLVE,
        setup=_completed_run,
        data=lambda c: {"code": "UNKNOWN_BENEFIT_COMBINATION", "resolution": "suffix confirmed"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing run roster csv",
        "GET",
        lambda c: f"{_run_url(c)}/roster.csv",
        VIEW,
        setup=_shared_completed_run,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing run decisions csv",
        "GET",
        lambda c: f"{_run_url(c)}/decisions.csv",
        VIEW,
        setup=_shared_completed_run,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    # decisions and exceptions
    Endpoint(
        "api billing decision detail",
        "GET",
        lambda c: f"/api/billing/decisions/{c['decision']}",
        VIEW,
        setup=_shared_completed_run,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing decision replay",
        "POST",
        lambda c: f"/api/billing/decisions/{c['decision']}/replay",
        REPLAY,
        setup=_shared_completed_run,
        data=lambda c: {"rule_version": "v1"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing exception resolve",
        "POST",
        lambda c: f"/api/billing/exceptions/{c['exception']}/resolve",
        RESOLVE,
        setup=_completed_run,
        data=lambda c: {"resolution": "benefit suffix confirmed with the payer"},
        success=OK,
        object_of_tenant=True,
    ),
)
