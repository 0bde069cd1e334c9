"""The remittance and receivables screens and the forced-match report API in the permission
matrix (issue 13 item 11). Every setup builds fresh lines, so one role's force-match never
blocks the next role's attempt. The force-match and unmatch actions are registered once the
posting part's services (`denials.services.receivables`) are installed."""

from __future__ import annotations

import importlib.util
import itertools

from core import scopes as S
from core.actors import Actor
from denials.models import RemittanceClaim
from tests.denials import rec_builders as b
from tests.permissions import Endpoint, register

VIEW, OVERRIDE = S.CLAIMS_VIEW, S.BILLING_RECEIVABLE_OVERRIDE
PAGE = frozenset({200})
_seq = itertools.count(1)


def _waiting(world) -> dict:
    n = next(_seq)
    d = b.waiting_line(world.tenant, code="MXP", trace=f"MXTRACE{n:04d}")
    return {
        "remittance": d["remittance"].pk,
        "line": d["line"].pk,
        "claim": d["claims"][0].pk,
        "trace": d["remittance"].trace_number,
        "pcn": d["line"].patient_control_number,
    }


def _matched(world) -> dict:
    """A matched line this month (for the report)."""
    ctx = _waiting(world)
    p = b.payer(world.tenant, "MXREPORT", name="Matrix report payer")
    m = b.member(world.tenant, "MX-REPORT")
    c = b.claim(world.tenant, p, m)
    r = b.remittance(world.tenant, p)
    b.remit_claim(
        r,
        pcn="MX",
        member_code="MX-REPORT",
        state=RemittanceClaim.MatchState.MATCHED_AUTO,
        matched=c,
    )
    return ctx


def _screen(name, url, scope, setup=_waiting, **kw) -> Endpoint:
    kw.setdefault("success", PAGE)
    kw.setdefault("payer_scoped", True)  # a GET screen of payer-scoped data
    return Endpoint(f"screen claims {name}", "GET", url, scope, kind="screen", setup=setup, **kw)


register(
    _screen("remittance list", lambda c: "/claims/remittances/", VIEW, marker=lambda c: c["trace"]),
    _screen(
        "remittance list CSV",
        lambda c: "/claims/remittances.csv",
        VIEW,
        marker=lambda c: c["trace"],
    ),
    _screen(
        "remittance detail",
        lambda c: f"/claims/remittances/{c['remittance']}/",
        VIEW,
        object_of_tenant=True,
    ),
    _screen("receivables queue", lambda c: "/claims/receivables/", VIEW, marker=lambda c: c["pcn"]),
    _screen(
        "forced-match report",
        lambda c: "/claims/receivables/report/",
        VIEW,
        _matched,
        marker=lambda c: "MXREPORT",
    ),
    Endpoint(
        "api reports forced-matches",
        "GET",
        lambda c: "/api/reports/forced-matches",
        VIEW,
        setup=_matched,
        success=PAGE,
        marker=lambda c: "MXREPORT",
        payer_scoped=True,
    ),
)


def _force_matched(world) -> dict:
    """A line force-matched by the system (ready to unmatch)."""
    from denials.services.receivables import remittance_claim_force_match

    ctx = _waiting(world)
    remittance_claim_force_match(
        actor=Actor.system_for(world.tenant),
        remittance_claim_id=ctx["line"],
        claim_id=ctx["claim"],
        reason="matrix setup",
    )
    return ctx


if importlib.util.find_spec("denials.services.receivables") is not None:
    register(
        Endpoint(
            "screen claims force-match",
            "POST",
            lambda c: f"/claims/receivables/{c['line']}/force-match/",
            OVERRIDE,
            kind="screen",
            setup=_waiting,
            data=lambda c: {"claim": c["claim"], "reason": "matrix check"},
            success=frozenset({302}),
            object_of_tenant=True,
        ),
        Endpoint(
            "screen claims unmatch",
            "POST",
            lambda c: f"/claims/receivables/{c['line']}/unmatch/",
            OVERRIDE,
            kind="screen",
            setup=_force_matched,
            data=lambda c: {"reason": "matrix check"},
            success=frozenset({302}),
            object_of_tenant=True,
        ),
    )
