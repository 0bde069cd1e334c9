"""django-q2 entry points of the claims app: one service call each, idempotent."""

from __future__ import annotations


def run_nightly() -> dict:
    """Nightly: every tenant's claim jobs (nothing when JOBS_DISABLED); runs per tenant."""
    from core.models import Tenant
    from denials.services.jobs import jobs_enabled, jobs_run_nightly

    if not jobs_enabled():
        return {}
    out = {}
    for tenant in Tenant.objects.order_by("slug"):
        runs = jobs_run_nightly(tenant=tenant)
        out[tenant.slug] = {r.job: r.status for r in runs}
    return out


def refresh_reporting_views() -> dict:
    """Refresh the claims reporting views (also the nightly cycle's last job)."""
    from denials.services.reporting import reporting_views_refresh

    return reporting_views_refresh()
