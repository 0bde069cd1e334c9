"""The job watchdog: long work left RUNNING by a dead worker is queued again, then failed.

core imports no app: each app registers its long jobs from AppConfig.ready() with
`register_watchdog(name, label, candidates=..., requeue=..., fail=...)`:
- `candidates(cutoff)` lists the app's jobs still queued or running that made no progress since
  `cutoff` (a `Stale` each: id, tenant, the tasks that would move it on);
- `requeue(pk)` queues its unfinished chunks again (idempotent: a chunk done is skipped) and
  returns how many tasks it queued;
- `fail(pk, reason)` fails it through its state machine, with the reason (audited).

A pass (`watchdog_pass`, scheduled every minute) leaves a job alone while one of its tasks waits
in the broker for a free worker (ORM broker only: Redis is not inspected), and for
WATCHDOG_STALE_SECONDS after it re-queued it. A job that made no progress after
WATCHDOG_MAX_REQUEUES re-queues in a row is failed. Each pass is recorded (`WatchdogPass`) for
the dashboard's "Background workers" card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import WatchdogPass, WatchdogRequeue

log = logging.getLogger("healthbill.jobs")


@dataclass(frozen=True)
class Stale:
    """A job with no progress since the cutoff; `tasks` are (dotted func, args) that move it on."""

    pk: int
    tenant_id: int
    progress_at: datetime
    tasks: tuple[tuple[str, tuple], ...] = ()


@dataclass(frozen=True)
class WatchdogSource:
    """One kind of long job the watchdog looks after."""

    name: str
    label: str
    candidates: Callable[[datetime], list[Stale]]
    requeue: Callable[[int], int]
    fail: Callable[[int, str], object]


_SOURCES: dict[str, WatchdogSource] = {}


def register_watchdog(
    name: str,
    label: str,
    *,
    candidates: Callable[[datetime], list[Stale]],
    requeue: Callable[[int], int],
    fail: Callable[[int, str], object],
) -> None:
    """Add (or replace) a kind of long job the watchdog looks after."""
    _SOURCES[name] = WatchdogSource(name, label, candidates, requeue, fail)


def watchdog_sources() -> list[WatchdogSource]:
    """The registered kinds of job, by name."""
    return [_SOURCES[name] for name in sorted(_SOURCES)]


# The broker's waiting tasks are read once in a watchdog pass: the pass and the sources that look
# at the broker themselves (with the pass's `now`) share that read. Kept only while the pass runs.
_passes: set[datetime] = set()
_read_in_pass: dict[datetime, set] = {}


def waiting_broker_tasks(now: datetime) -> set[tuple[str, tuple]] | None:
    """(func, args) of the tasks waiting in the ORM broker for a free worker (not taken, or
    re-deliverable); None when the broker cannot be inspected (Redis). Read once per pass."""
    if now in _read_in_pass:
        return _read_in_pass[now]
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        return None
    waiting = set()
    for row in OrmQ.objects.using(Conf.ORM).filter(lock__lte=now).only("payload"):
        task = row.task
        func = task.get("func")
        if isinstance(func, str):
            waiting.add((func, _frozen(tuple(task.get("args") or ()))))
    if now in _passes:
        _read_in_pass[now] = waiting
    return waiting


def _frozen(value):
    """A hashable copy of task arguments: a task with a list argument (a chunk of ids) must
    not break the set of waiting tasks (lists become tuples, dicts sorted item tuples)."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((k, _frozen(v)) for k, v in value.items()), key=repr))
    if isinstance(value, set | frozenset):
        return tuple(sorted((_frozen(v) for v in value), key=repr))
    return value


def _stale_after() -> int:
    return settings.WATCHDOG_STALE_SECONDS


@dataclass
class _Tally:
    requeued: int = 0
    failed: int = 0
    actions: list[dict] = field(default_factory=list)


def _look_after(source: WatchdogSource, job: Stale, now: datetime, tally: _Tally) -> None:
    cutoff = now - timedelta(seconds=_stale_after())
    mark = WatchdogRequeue.objects.filter(source=source.name, object_id=job.pk).first()
    if mark is not None and job.progress_at > mark.last_at:
        mark.delete()  # it moved on after the last re-queue: count afresh
        mark = None
    if mark is not None and mark.last_at > cutoff:
        return  # re-queued lately: give it the full bound
    done = mark.count if mark else 0
    entry = {"tenant": job.tenant_id, "job": source.label, "id": job.pk}
    if done < settings.WATCHDOG_MAX_REQUEUES:
        tasks = source.requeue(job.pk)
        WatchdogRequeue.objects.update_or_create(
            source=source.name,
            object_id=job.pk,
            defaults={"tenant_id": job.tenant_id, "count": done + 1, "last_at": now},
        )
        tally.requeued += 1
        tally.actions.append({**entry, "action": "requeued", "tasks": tasks, "attempt": done + 1})
        log.warning(
            "watchdog requeued a stuck job",
            extra={"event": "watchdog_requeued", "job": source.name, "id": job.pk, "tasks": tasks},
        )
        return
    reason = (
        f"no progress for {_stale_after()} s after {done} re-queue(s) by the watchdog "
        "(a worker died or lost it each time)"
    )
    source.fail(job.pk, reason)
    WatchdogRequeue.objects.filter(source=source.name, object_id=job.pk).delete()
    tally.failed += 1
    tally.actions.append({**entry, "action": "failed", "reason": reason})
    log.error(
        "watchdog failed a stuck job",
        extra={"event": "watchdog_failed", "job": source.name, "id": job.pk},
    )


def _look_after_all(cutoff: datetime, now: datetime, tally: _Tally) -> None:
    """Every registered source's stuck jobs: re-queued or failed, unless a task of theirs waits."""
    waiting: set | None | bool = False  # read from the broker once, when first needed
    for source in watchdog_sources():
        for job in source.candidates(cutoff):
            if waiting is False:
                waiting = waiting_broker_tasks(now)
            if waiting and any((f, _frozen(a)) in waiting for f, a in job.tasks):
                continue  # a task of it waits for a free worker: busy, not stuck
            try:
                with transaction.atomic():
                    _look_after(source, job, now, tally)
            except Exception as exc:  # one job's trouble must not stop the pass for the others
                tally.actions.append(
                    {
                        "tenant": job.tenant_id,
                        "job": source.label,
                        "id": job.pk,
                        "action": "error",
                        "error": type(exc).__name__,
                    }
                )
                log.exception(
                    "watchdog could not handle a job",
                    extra={"event": "watchdog_error", "job": source.name, "id": job.pk},
                )


def watchdog_pass(now: datetime | None = None) -> WatchdogPass:
    """Re-queue (or, after WATCHDOG_MAX_REQUEUES, fail) every long job stuck without progress."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=_stale_after())
    record = WatchdogPass.objects.create(started_at=now)
    tally = _Tally()
    _passes.add(now)
    try:
        _look_after_all(cutoff, now, tally)
    finally:
        _passes.discard(now)
        _read_in_pass.pop(now, None)
    WatchdogPass.objects.filter(pk=record.pk).update(
        finished_at=timezone.now(),
        requeued=tally.requeued,
        failed=tally.failed,
        actions=tally.actions,
    )
    record.refresh_from_db()
    # keep a day of passes (one a minute)
    WatchdogPass.objects.filter(started_at__lt=now - timedelta(days=1)).delete()
    return record


@dataclass(frozen=True)
class WatchdogAction:
    """One thing the watchdog did to one of the tenant's jobs."""

    at: datetime
    job: str
    id: int
    action: str  # requeued | failed | error
    detail: str


@dataclass(frozen=True)
class WatchdogState:
    """What the dashboard shows: the last pass, and what it did lately to the tenant's jobs."""

    last: WatchdogPass | None
    actions: list[WatchdogAction]
    stale_after: int
    max_requeues: int


def _describe(entry: dict) -> str:
    if entry.get("action") == "requeued":
        return (
            f"{entry.get('tasks', 0)} task(s) queued again, "
            f"try {entry.get('attempt')} of {settings.WATCHDOG_MAX_REQUEUES}"
        )
    if entry.get("action") == "failed":
        return entry.get("reason", "")
    return entry.get("error", "")


def watchdog_state(tenant_id: int, *, limit: int = 10) -> WatchdogState:
    """The watchdog's last pass, and its latest actions on the tenant's jobs (newest first)."""

    passes = WatchdogPass.objects.exclude(finished_at=None)
    actions: list[WatchdogAction] = []
    for done in passes.exclude(actions=[])[:200]:
        for entry in done.actions:
            if entry.get("tenant") == tenant_id and len(actions) < limit:
                actions.append(
                    WatchdogAction(
                        at=done.finished_at,
                        job=entry.get("job", ""),
                        id=entry.get("id"),
                        action=entry.get("action", ""),
                        detail=_describe(entry),
                    )
                )
        if len(actions) >= limit:
            break
    return WatchdogState(
        last=passes.first(),
        actions=actions,
        stale_after=_stale_after(),
        max_requeues=settings.WATCHDOG_MAX_REQUEUES,
    )
