"""The claim jobs' dashboard panel (core registry): failed runs and open claim alerts."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.dashboard import Counter, Panel, register_panel
from denials.models import ClaimAlert, JobRun

Kind = ClaimAlert.Kind


def claim_jobs_panel(actor: Actor) -> Panel | None:
    """Nightly job failures of the last 7 days and open claim alerts, linking to job health."""
    # shown once the claims screens offer their scope (the charges part offers it in ready())
    if S.CLAIMS_VIEW not in S.offered_scopes() or not actor.has(S.CLAIMS_VIEW):
        return None
    from denials.views_jobs import visible_alerts

    since = timezone.now() - timedelta(days=7)
    failed = JobRun.objects.filter(
        tenant=actor.tenant, status=JobRun.Status.FAILED, started_at__gte=since
    ).count()
    by_kind = dict(
        visible_alerts(actor).values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    url = reverse("denials:jobs")
    return Panel(
        title="Claim jobs",
        url=url,
        counters=[
            Counter("failed job runs (7 days)", failed, url, "red"),
            Counter("claims past timely filing", by_kind.get(Kind.FILING_PAST, 0), url, "red"),
            Counter("claims 7 days from the limit", by_kind.get(Kind.FILING_7, 0), url, "amber"),
            Counter("stale submitted claims", by_kind.get(Kind.STALE, 0), url, "amber"),
        ],
        chart_title="Open claim alerts by kind",
        chart=[(label, by_kind[k]) for k, label in Kind.choices if by_kind.get(k)],
    )


def register() -> None:
    """Called from DenialsConfig.ready()."""
    register_panel("claim_jobs", 45, claim_jobs_panel)
