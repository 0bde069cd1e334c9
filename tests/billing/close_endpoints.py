"""Month close in the permission matrix: its API endpoints and screens (issue 10).

Every setup builds a fresh payer with a completed production run of October (and, where the
endpoint needs one, a close of it), so one role's close or reopen never blocks the next role's.
"""

from __future__ import annotations

from billing.services.closes import month_close
from core import scopes as S
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb
from tests.permissions import Endpoint, register

VIEW, TRIGGER = S.BILLING_RUN_VIEW, S.BILLING_RUN_TRIGGER
OK, CREATED, PAGE, REDIRECT = frozenset({200}), frozenset({201}), frozenset({200}), frozenset({302})


def _billed(world) -> dict:
    p = b.billed_payer(world.tenant)
    run = sb.done_run(world.tenant, [p], package=False)  # no PDF: the matrix builds many
    return {"payer": p.code, "run": run.pk}


def _closed(world) -> dict:
    ctx = _billed(world)
    close = month_close(actor=b.system(world.tenant), payer_code=ctx["payer"], month=b.MONTH)
    return {**ctx, "close": close.pk}


_code = lambda c: c["payer"]  # noqa: E731

register(
    Endpoint(
        "api billing month closes list",
        "GET",
        lambda c: "/api/billing/month-closes",
        VIEW,
        setup=_closed,
        success=OK,
        marker=_code,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing month close",
        "POST",
        lambda c: "/api/billing/month-closes",
        TRIGGER,
        setup=_billed,
        data=lambda c: {"payer": c["payer"], "month": b.MONTH_TEXT, "note": "reviewed"},
        success=CREATED,
    ),
    Endpoint(
        "api billing month reopen",
        "POST",
        lambda c: f"/api/billing/month-closes/{c['close']}/reopen",
        TRIGGER,
        setup=_closed,
        data=lambda c: {"reason": "payer correction"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing month closes",
        "GET",
        lambda c: "/billing/month-closes/",
        VIEW,
        kind="screen",
        setup=_closed,
        success=PAGE,
        marker=_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing month closes csv",
        "GET",
        lambda c: "/billing/month-closes.csv",
        VIEW,
        kind="screen",
        setup=_closed,
        success=PAGE,
        marker=_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing month close form",
        "GET",
        lambda c: f"/billing/runs/{c['run']}/close/?payer={c['payer']}",
        TRIGGER,
        kind="screen",
        setup=_billed,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing month close",
        "POST",
        lambda c: f"/billing/runs/{c['run']}/close/",
        TRIGGER,
        kind="screen",
        setup=_billed,
        data=lambda c: {"payer": c["payer"], "note": "reviewed"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing month reopen",
        "POST",
        lambda c: f"/billing/month-closes/{c['close']}/reopen/",
        TRIGGER,
        kind="screen",
        setup=_closed,
        data=lambda c: {"reason": "payer correction"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
)
