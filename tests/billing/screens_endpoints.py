"""Billing's staff screens in the permission matrix (SPEC 2, 9, 11).

Every screen of /billing/ is checked for every role of tenant A, anonymously (a redirect to the
sign-in page) and as tenant B's owner (404 for tenant A's objects, none of A's data in lists).
Writes get fresh objects per setup (a new payer each time), so one role's success never
blocks the next role's attempt; read-only screens share one completed run per test.
"""

from __future__ import annotations

from billing.models import AuditPackage
from core import scopes as S
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb
from tests.billing.endpoints import _draft, _member, _override, _queued_run
from tests.permissions import Endpoint, register

VIEW, TRIGGER = S.BILLING_RUN_VIEW, S.BILLING_RUN_TRIGGER
RULES, OVERRIDE = S.BILLING_RULES_MANAGE, S.BILLING_OVERRIDE_CREATE
REPLAY, RESOLVE = S.BILLING_DECISION_REPLAY, S.BILLING_EXCEPTION_RESOLVE
PAGE, REDIRECT = frozenset({200}), frozenset({302})

# --- setups -------------------------------------------------------------------------------


def _fresh_payer(world) -> dict:
    return {"payer": b.payer_with_rules(world.tenant).code}


def _fresh_done_run(world) -> dict:
    """A fresh payer's completed production run (package only requested), with an exception."""
    p = b.payer_with_rules(world.tenant)
    b.member(world.tenant, p)
    b.member(world.tenant, p, benefit_suffix=b.UNKNOWN_SUFFIX)
    run = sb.done_run(world.tenant, [p], package=False)
    return {
        "payer": p.code,
        "run": run.pk,
        "exception": run.exceptions.get().pk,
        "decision": b.a_decision(run).pk,
    }


_SHARED: dict = {}


def _shared_run(world) -> dict:
    """One completed production run with a READY package per test (read-only screens)."""
    if _SHARED.get("world") is not world:
        _SHARED.clear()
        p = b.payer_with_rules(world.tenant)
        b.member(world.tenant, p)
        b.member(world.tenant, p, benefit_suffix=b.UNKNOWN_SUFFIX)
        run = sb.done_run(world.tenant, [p], package=True)
        assert AuditPackage.objects.get(run=run).status == AuditPackage.Status.READY
        _SHARED.update(
            world=world,
            ctx={"payer": p.code, "run": run.pk, "decision": b.a_decision(run).pk},
        )
    return _SHARED["ctx"]


_payer_code = lambda c: c["payer"]  # noqa: E731
_run_url = lambda c: f"/billing/runs/{c['run']}/"  # noqa: E731


def _tab(tab: str) -> Endpoint:
    return Endpoint(
        f"screen billing run {tab} tab",
        "GET",
        lambda c: f"{_run_url(c)}?tab={tab}",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    )


register(
    # runs list and trigger
    Endpoint(
        "screen billing runs",
        "GET",
        lambda c: "/billing/",
        VIEW,
        kind="screen",
        setup=_queued_run,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run trigger",
        "POST",
        lambda c: "/billing/",
        TRIGGER,
        kind="screen",
        setup=_fresh_payer,
        data=lambda c: {"month": sb.MONTH_TEXT, "payers": [c["payer"]], "mode": "SIMULATION"},
        success=REDIRECT,
    ),
    Endpoint(
        "screen billing runs csv export",
        "GET",
        lambda c: "/billing/runs.csv",
        VIEW,
        kind="screen",
        setup=_queued_run,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run rows",
        "GET",
        lambda c: "/billing/rows/",
        VIEW,
        kind="screen",
        setup=_queued_run,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    # one run
    *[_tab(tab) for tab in ("summary", "decisions", "exceptions", "audit", "downloads")],
    Endpoint(
        "screen billing run progress",
        "GET",
        lambda c: f"{_run_url(c)}progress/",
        VIEW,
        kind="screen",
        setup=_queued_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run regenerate",
        "POST",
        lambda c: f"{_run_url(c)}regenerate/",
        TRIGGER,
        kind="screen",
        setup=_fresh_done_run,
        data=lambda c: {"reason_kind": "corrected eligibility", "reason": "matrix"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing run cancel",
        "POST",
        lambda c: f"{_run_url(c)}cancel/",
        TRIGGER,
        kind="screen",
        setup=_queued_run,
        data=lambda c: {"reason": "wrong month"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing run roster csv",
        "GET",
        lambda c: f"{_run_url(c)}roster.csv",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run decisions csv",
        "GET",
        lambda c: f"{_run_url(c)}decisions.csv",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run decisions list csv export",
        "GET",
        lambda c: f"{_run_url(c)}decisions-list.csv?decision_class=BILLED_ACTIVE",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run package download",
        "GET",
        lambda c: f"{_run_url(c)}package/",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing run package rebuild",
        "POST",
        lambda c: f"{_run_url(c)}package/",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=REDIRECT,
        object_of_tenant=True,
    ),
    # exceptions, decisions, replay
    Endpoint(
        "screen billing exception resolve",
        "POST",
        lambda c: f"/billing/exceptions/{c['exception']}/resolve/",
        RESOLVE,
        kind="screen",
        setup=_fresh_done_run,
        data=lambda c: {"resolution": "benefit suffix confirmed with the payer"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing run exceptions bulk resolve",
        "POST",
        lambda c: f"{_run_url(c)}exceptions/resolve/",
        RESOLVE,
        kind="screen",
        setup=_fresh_done_run,
        data=lambda c: {"code": "UNKNOWN_BENEFIT_COMBINATION", "resolution": "suffix confirmed"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing run exceptions csv",
        "GET",
        lambda c: f"{_run_url(c)}exceptions.csv?status=ALL",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing decision",
        "GET",
        lambda c: f"/billing/decisions/{c['decision']}/",
        VIEW,
        kind="screen",
        setup=_shared_run,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing decision replay",
        "POST",
        lambda c: f"/billing/decisions/{c['decision']}/replay/",
        REPLAY,
        kind="screen",
        setup=_shared_run,
        data=lambda c: {"rule_version": "v1"},
        success=PAGE,
        object_of_tenant=True,
    ),
    # rule versions
    Endpoint(
        "screen billing rules",
        "GET",
        lambda c: "/billing/rules/",
        VIEW,
        kind="screen",
        setup=_draft,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing rule activate",
        "POST",
        lambda c: "/billing/rules/",
        RULES,
        kind="screen",
        setup=_draft,
        data=lambda c: {"rule_version": c["rule_version"], "action": "activate"},
        success=REDIRECT,
    ),
    # member-month overrides
    Endpoint(
        "screen billing overrides",
        "GET",
        lambda c: "/billing/overrides/",
        VIEW,
        kind="screen",
        setup=_override,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing overrides csv export",
        "GET",
        lambda c: "/billing/overrides.csv",
        VIEW,
        kind="screen",
        setup=_override,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing override create",
        "POST",
        lambda c: "/billing/overrides/",
        OVERRIDE,
        kind="screen",
        setup=_member,
        data=lambda c: {
            "payer": c["payer"],
            "member": c["member"],
            "month": sb.MONTH_TEXT,
            "outcome": "NOT_BILLABLE",
            "reason": "member moved abroad",
        },
        success=REDIRECT,
    ),
)
