"""The wallet screens in the permission matrix: every page, fragment, export and form POST.

Each setup builds a fresh wallet of tenant A (and a run), so one role's top-up or trigger never
changes what the next role sees."""

from __future__ import annotations

from datetime import date

from core import scopes as S
from tests.permissions import Endpoint, register
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun

VIEW, TOPUP, TRIGGER = S.WALLETS_VIEW, S.WALLETS_TOPUP, S.WALLETS_RUN_TRIGGER
PAGE = frozenset({200})
MOVED = frozenset({302})


def _scene(world) -> dict:
    acc = b.account(world.tenant)
    w = b.wallet(world.tenant, acc, balance="40.00")
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 11, 30))
    return {"wallet": w.pk, "account": acc.number, "run": run.pk}


def _screen(name, url, **kw) -> Endpoint:
    kw.setdefault("success", PAGE)
    return Endpoint(f"screen wallets {name}", "GET", url, VIEW, kind="screen", setup=_scene, **kw)


register(
    _screen("list", lambda c: "/wallets/", marker=lambda c: c["account"]),
    _screen("list CSV", lambda c: "/wallets/wallets.csv", marker=lambda c: c["account"]),
    _screen("wallet page", lambda c: f"/wallets/{c['wallet']}/", object_of_tenant=True),
    _screen("prepaid runs", lambda c: "/wallets/runs/", marker=lambda c: f'id="run-{c["run"]}"'),
    _screen(
        "prepaid run rows", lambda c: "/wallets/runs/rows/", marker=lambda c: f'id="run-{c["run"]}"'
    ),
    _screen("prepaid run", lambda c: f"/wallets/runs/{c['run']}/", object_of_tenant=True),
    _screen(
        "prepaid run progress",
        lambda c: f"/wallets/runs/{c['run']}/progress/",
        object_of_tenant=True,
    ),
    Endpoint(
        "screen wallets top-up",
        "POST",
        lambda c: f"/wallets/{c['wallet']}/top-up/",
        TOPUP,
        kind="screen",
        setup=_scene,
        data=lambda c: {"amount": "10.00", "reference": "matrix check"},
        success=MOVED,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen wallets trigger prepaid run",
        "POST",
        lambda c: "/wallets/runs/",
        TRIGGER,
        kind="screen",
        setup=_scene,
        data=lambda c: {"as_of": "2026-11-30", "accounts": c["account"], "estimation": "SKIP"},
        success=MOVED,
    ),
)
