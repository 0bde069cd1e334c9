"""Helpers shared by the wallet screens: the wallet state badge, run reads, a 404 page."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from wallets.models import PrepaidBillingRun

RUN_BADGES = {
    PrepaidBillingRun.Status.DRAFT: "blue",
    PrepaidBillingRun.Status.IDENTIFICATION_AND_RATING: "blue",
    PrepaidBillingRun.Status.COMPLETED: "green",
    PrepaidBillingRun.Status.COMPLETED_WITH_ERRORS: "amber",
    PrepaidBillingRun.Status.FAILED: "red",
}
STATE_BADGES = {"healthy": "green", "low": "amber", "empty": "red"}


def decorate_run(run: PrepaidBillingRun, now) -> PrepaidBillingRun:
    """Badge colour, and whether screens poll it: a recurring successor waiting for its day
    is not polled (it would be, every second, for weeks)."""
    run.badge = RUN_BADGES.get(run.status, "grey")
    run.waits_for_its_day = (
        run.status == PrepaidBillingRun.Status.DRAFT
        and run.scheduled_for is not None
        and run.scheduled_for > now
    )
    run.live = run.is_active and not run.waits_for_its_day
    return run


def not_found(request, what: str) -> HttpResponse:
    """The friendly 404 page naming what was not found."""
    return render(request, "core/not_found.html", {"what": what}, status=404)
