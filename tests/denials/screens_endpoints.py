"""The denial work queue and detail screens in the permission matrix (issue 14 item 7). Every
setup builds a fresh denial, so one role's move never blocks the next role's attempt."""

from __future__ import annotations

import itertools

from core import scopes as S
from core.actors import Actor
from tests.denials import screens_builders as sb
from tests.permissions import Endpoint, register

VIEW, WRITE = S.CLAIMS_VIEW, S.BILLING_DENIAL_WRITE
PAGE = frozenset({200})
MOVED = frozenset({302})
_seq = itertools.count(1)


def _open(world) -> dict:
    d = sb.denial(world.tenant, payer=f"MXD{next(_seq) % 5}")
    return {"denial": d.pk, "claim": d.claim.number}


def _written_off(world) -> dict:
    d = sb.written_off(world.tenant, Actor.system_for(world.tenant), payer="MXDW")
    return {"denial": d.pk, "claim": d.claim.number}


def _screen(name, url, scope, setup=_open, **kw) -> Endpoint:
    kw.setdefault("success", PAGE)
    kw.setdefault("payer_scoped", True)  # a GET screen of payer-scoped data
    return Endpoint(f"screen denials {name}", "GET", url, scope, kind="screen", setup=setup, **kw)


def _action(name, path, setup=_open, data=lambda c: {}) -> Endpoint:
    return Endpoint(
        f"screen denials {name}",
        "POST",
        lambda c: f"/claims/denials/{c['denial']}/{path}/",
        WRITE,
        kind="screen",
        setup=setup,
        data=data,
        success=MOVED,
        object_of_tenant=True,
    )


register(
    _screen("work queue", lambda c: "/claims/denials/", VIEW, marker=lambda c: c["claim"]),
    _screen(
        "work queue CSV", lambda c: "/claims/denials/export.csv", VIEW, marker=lambda c: c["claim"]
    ),
    _screen("detail", lambda c: f"/claims/denials/{c['denial']}/", VIEW, object_of_tenant=True),
    _action("assign to me", "assign-me"),
    _action("work", "work"),
    _action("resolve", "resolve"),
    _action("write off", "write-off", data=lambda c: {"reason": "matrix check"}),
    _action("reopen", "reopen", _written_off, data=lambda c: {"reason": "matrix check"}),
    _action(
        "manual flip",
        "flip",
        data=lambda c: {"to": "RESOLVED", "reason_code": "out_of_band", "reason": "matrix"},
    ),
    Endpoint(
        "screen denials bulk",
        "POST",
        lambda c: "/claims/denials/bulk/",
        WRITE,
        kind="screen",
        setup=_open,
        data=lambda c: {"action": "work", "denial": [c["denial"]]},
        success=MOVED,
    ),
)
