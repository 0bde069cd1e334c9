"""The jobs part's API endpoints and screens in the permission matrix (issue 13 item 11).

Report setups give tenant A a claim of a payer whose name tenant B must never see in its own
reports; runs are asked for one quick job so each role's attempt stands alone.
"""

from __future__ import annotations

import itertools
from datetime import date

from core import scopes as S
from denials.models import JobRun
from denials.services.reporting import reporting_views_refresh
from tests.denials.jobs_builders import claim, payer
from tests.permissions import Endpoint, register

VIEW, WRITE = S.CLAIMS_VIEW, S.CLAIMS_WRITE
OK = frozenset({200})
_seq = itertools.count(1)


def _books(world) -> dict:
    code = f"MXJ{next(_seq)}"
    p = payer(world.tenant, code, name=f"Matrix payer {code}")
    claim(
        world.tenant,
        payer_obj=p,
        service_date=date(2026, 5, 4),
        billed="12.34",
        submitted_on=date(2026, 5, 10),
    )
    reporting_views_refresh()
    return {"payer": code, "name": p.name}


def _run(world) -> dict:
    run = JobRun.objects.create(
        tenant=world.tenant, job="stale_claims", status=JobRun.Status.FAILED, error="MXERR-A"
    )
    return {"run": run.pk, "marker": "MXERR-A"}


register(
    Endpoint(
        "api jobs runs",
        "GET",
        lambda c: "/api/jobs/runs",
        VIEW,
        setup=_run,
        success=OK,
        marker=lambda c: c["marker"],
    ),
    Endpoint(
        "api jobs run",
        "POST",
        lambda c: "/api/jobs/run",
        WRITE,
        data=lambda c: {"job": "stale_claims"},
        success=OK,
    ),
    Endpoint(
        "api report reconciliation",
        "GET",
        lambda c: "/api/reports/reconciliation",
        VIEW,
        setup=_books,
        success=OK,
        marker=lambda c: c["name"],
        payer_scoped=True,
    ),
    Endpoint(
        "api report aging",
        "GET",
        lambda c: "/api/reports/aging?as_of=2026-06-30",
        VIEW,
        setup=_books,
        success=OK,
        marker=lambda c: c["name"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen claims job health",
        "GET",
        lambda c: "/claims/jobs/",
        VIEW,
        kind="screen",
        setup=_run,
        success=OK,
        marker=lambda c: c["marker"],
    ),
    Endpoint(
        "screen claims run jobs",
        "POST",
        lambda c: "/claims/jobs/run/",
        WRITE,
        kind="screen",
        data=lambda c: {"job": "stale_claims"},
        success=frozenset({302}),
    ),
    Endpoint(
        "screen claims reconciliation csv",
        "GET",
        lambda c: "/claims/reconciliation.csv",
        VIEW,
        kind="screen",
        setup=_books,
        success=OK,
        marker=lambda c: c["payer"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen claims reconciliation",
        "GET",
        lambda c: "/claims/reconciliation/?as_of=2026-06-30",
        VIEW,
        kind="screen",
        setup=_books,
        success=OK,
        marker=lambda c: c["name"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen claims run jobs page",
        "GET",
        lambda c: "/claims/jobs/run/",
        VIEW,
        kind="screen",
        success=frozenset({302}),  # the confirmation lives on the jobs page: back there
    ),
)
