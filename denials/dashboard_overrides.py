"""The override-rate dashboard panel (core registry), for audit.read holders (issue 14 item 6)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.dashboard import Counter, Panel, register_panel
from denials.reporting_overrides import KINDS
from denials.services.override_report import override_report


def override_panel(actor: Actor) -> Panel | None:
    """This month's overrides of each kind with its rate, linking to the report filtered."""
    if not actor.has(S.AUDIT_READ):
        return None
    month = timezone.localdate().replace(day=1)
    totals = {r.kind: r for r in override_report(actor, month_from=month, month_to=month).totals}
    url = reverse("denials:override-report")
    counters = []
    for kind, (label, _, _) in KINDS.items():
        row = totals.get(kind)
        n = row.overrides if row else 0
        rate = f" ({row.rate_text})" if row and row.volume else ""
        query = urlencode({"kind": kind, "month_from": f"{month:%Y-%m}"})
        counters.append(Counter(f"{label.lower()}{rate}", n, f"{url}?{query}", "amber"))
    return Panel(
        title=f"Overrides in {month:%B %Y}",
        url=url,
        counters=counters,
        chart_title="Overrides this month by kind",
        chart=[(KINDS[k][0], r.overrides) for k, r in totals.items() if r.overrides],
    )


def register() -> None:
    """Called from DenialsConfig.ready()."""
    register_panel("override_rates", 50, override_panel)
