"""Override report screens and API in the permission matrix (issue 14 item 6); the approvals
queue is core's (tests/core/endpoints.py).

Every setup writes a COB override entry for a fresh payer code of tenant A and refreshes the
reporting views, so the payer code is the marker tenant B's user must never see.
"""

from __future__ import annotations

import itertools

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from denials.services.reporting import reporting_views_refresh
from tests.denials.rec_builders import payer
from tests.permissions import Endpoint, register

READ = S.AUDIT_READ
OK = frozenset({200})
_seq = itertools.count(1)


def _setup(world) -> dict:
    code = f"DUALMX{next(_seq)}"
    payer(world.tenant, code)
    audit_record(
        tenant=world.tenant,
        actor=Actor.system_for(world.tenant),
        action="COB_OVERRIDE_SET",
        object_type="denials.CobOverride",
        object_id=1,
        reason="matrix",
        payload={"payer": code, "requested_by": "alpha-owner", "approved_by": None},
    )
    reporting_views_refresh()
    return {"payer": code}


def _screen(name: str, url: str) -> Endpoint:
    return Endpoint(
        name, "GET", lambda c: url, READ, kind="screen", setup=_setup, success=OK,
        marker=lambda c: c["payer"], payer_scoped=True,
    )  # fmt: skip


register(
    _screen("screen override report", "/claims/overrides/report/"),
    _screen("screen override report csv", "/claims/overrides/report.csv"),
    Endpoint(
        "api override report",
        "GET",
        lambda c: "/api/reports/overrides",
        READ,
        setup=_setup,
        success=OK,
        marker=lambda c: c["payer"],
        payer_scoped=True,
    ),
    Endpoint(
        "api override report csv",
        "GET",
        lambda c: "/api/reports/overrides.csv",
        READ,
        setup=_setup,
        success=OK,
        marker=lambda c: c["payer"],
        payer_scoped=True,
    ),
)
