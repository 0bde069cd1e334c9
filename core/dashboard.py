"""The dashboard's registries: each app adds its panels and tells what waits on a worker.

core imports no app: billing, ingestion (and later apps) register from AppConfig.ready():
- `register_panel(name, order, build)`: `build(actor)` returns a `Panel` (counters with links
  and an optional bar chart) or None when the actor may not see it;
- `register_waiting_work(name, count)`: `count(tenant)` returns how many of the tenant's
  objects wait on a background worker (queued runs, pending batches...), with a label; the
  "no worker" banner appears only when something waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.actors import Actor
from core.models import Tenant


@dataclass(frozen=True)
class Counter:
    """One figure of a panel: label, count, where to see the rows, a tone for the badge."""

    label: str
    count: int
    url: str = ""
    tone: str = ""  # "", "amber", "red", "green", "grey"


@dataclass(frozen=True)
class Panel:
    """A dashboard card."""

    title: str
    counters: list[Counter]
    chart_title: str = ""
    chart: list[tuple[str, int]] = field(default_factory=list)  # (label, count) bars
    url: str = ""

    @property
    def chart_max(self) -> int:
        return max((n for _, n in self.chart), default=0)


@dataclass(frozen=True)
class _PanelSource:
    name: str
    order: int
    build: Callable[[Actor], Panel | None]


_PANELS: dict[str, _PanelSource] = {}
_WAITING: dict[str, Callable[[Tenant], tuple[int, str]]] = {}


def register_panel(name: str, order: int, build: Callable[[Actor], Panel | None]) -> None:
    """Add (or replace) a dashboard panel."""
    _PANELS[name] = _PanelSource(name, order, build)


def dashboard_panels(actor: Actor) -> list[Panel]:
    """The panels the actor may see, in order."""
    panels = []
    for source in sorted(_PANELS.values(), key=lambda p: (p.order, p.name)):
        panel = source.build(actor)
        if panel is not None:
            panels.append(panel)
    return panels


def register_waiting_work(name: str, count: Callable[[Tenant], tuple[int, str]]) -> None:
    """Add (or replace) a counter of the tenant's objects that wait on a worker."""
    _WAITING[name] = count


def waiting_work(tenant: Tenant) -> list[tuple[int, str]]:
    """(count, label) of every kind of the tenant's work waiting on a worker, non-zero only."""
    found = []
    for name in sorted(_WAITING):
        n, label = _WAITING[name](tenant)
        if n:
            found.append((n, label))
    return found
