"""django-q2 entry points of the claims app: one service call each, idempotent."""

from __future__ import annotations


def run_nightly() -> dict:
    """Nightly: every tenant's claim jobs (nothing when JOBS_DISABLED)."""
    from denials.services.jobs import jobs_run_nightly_all

    return jobs_run_nightly_all()


def refresh_reporting_views() -> dict:
    """Refresh the claims reporting views (also the nightly cycle's last job)."""
    from denials.services.reporting import reporting_views_refresh

    return reporting_views_refresh()
