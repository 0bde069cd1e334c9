"""Denial work API endpoints and the status reference screen in the permission matrix (issue 14).

Every setup loads a fresh remittance of tenant A (the receivables matrix setup): its posted claim
payment opened one CO-29 denial; a second copy is put WRITTEN_OFF for reopen.
"""

from __future__ import annotations

from core import scopes as S
from denials.models import Denial
from tests.denials.receivables_endpoints import _setup as _rec_setup
from tests.permissions import Endpoint, register

VIEW, WRITE = S.CLAIMS_VIEW, S.BILLING_DENIAL_WRITE
OK = frozenset({200})


def _setup(world) -> dict:
    ctx = _rec_setup(world)
    denial = Denial.objects.get(remittance_claim_id=ctx["posted"])
    return ctx | {"denial": denial.pk}


def _written_off(world) -> dict:
    ctx = _setup(world)
    Denial.objects.filter(pk=ctx["denial"]).update(status=Denial.Status.WRITTEN_OFF)
    return ctx


register(
    Endpoint(
        "api denial detail",
        "GET",
        lambda c: f"/api/denials/{c['denial']}",
        VIEW,
        setup=_setup,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api denial transitions", "GET", lambda c: "/api/denials/transitions", VIEW, success=OK
    ),  # fmt: skip
    Endpoint(
        "api denial transition",
        "POST",
        lambda c: f"/api/denials/{c['denial']}/transition",
        WRITE,
        setup=_setup,
        data=lambda c: {"to": "IN_PROGRESS"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api denial flip",
        "POST",
        lambda c: f"/api/denials/{c['denial']}/flip",
        WRITE,
        setup=_setup,
        data=lambda c: {"to": "RESOLVED", "reason_code": "out_of_band", "reason": "matrix"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api denial reopen",
        "POST",
        lambda c: f"/api/denials/{c['denial']}/reopen",
        WRITE,
        setup=_written_off,
        data=lambda c: {"reason": "matrix"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api denial assign",
        "POST",
        lambda c: f"/api/denials/{c['denial']}/assign",
        WRITE,
        setup=_setup,
        data=lambda c: {"user": None},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "denial status reference",
        "GET",
        lambda c: "/claims/denials/status-reference/",
        VIEW,
        kind="screen",
        success=OK,
    ),
)
