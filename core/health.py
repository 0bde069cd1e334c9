"""Is a django-q2 worker alive? Heartbeats, the broker's queue and recent task failures.

Two things write heartbeats (`WorkerHeartbeat`, one row per source):
- every worker process of a cluster, from a small thread started when django-q2 spawns it
  (`start_worker_heartbeat`, every HEARTBEAT_EVERY seconds), so a worker busy with a long chunk
  still reports;
- the scheduled `core.tasks.heartbeat` job (every minute), which shows that the scheduler and
  the queue work end to end.
A worker counts as seen while some heartbeat is younger than HEARTBEAT_STALE_SECONDS.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.db.models import Max
from django.utils import timezone

from core.models import WorkerHeartbeat

log = logging.getLogger("healthbill.jobs")

HEARTBEAT_EVERY = 20  # seconds between two heartbeats of one worker process
HEARTBEAT_STALE_SECONDS = 60  # no heartbeat for this long: no worker is running
FAILURE_WINDOW = timedelta(hours=24)


def heartbeat_record(name: str) -> None:
    """Note that the named worker (or job) is alive now."""
    WorkerHeartbeat.objects.update_or_create(
        name=name[:200], defaults={"seen_at": timezone.now(), "pid": os.getpid()}
    )


def last_heartbeat() -> datetime | None:
    """When any worker last reported, or None when none ever did."""
    return WorkerHeartbeat.objects.aggregate(at=Max("seen_at"))["at"]


def worker_seen(now: datetime | None = None) -> bool:
    """Whether some worker reported within the last HEARTBEAT_STALE_SECONDS (one query)."""
    now = now or timezone.now()
    since = now - timedelta(seconds=HEARTBEAT_STALE_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=since).exists()


def queued_task_count() -> int:
    """Tasks waiting in the broker for a worker (not yet taken)."""
    from django_q.brokers import get_broker

    try:
        return get_broker().queue_size()
    except Exception:  # a broker that cannot be reached: the page still renders
        log.warning("broker unreachable", extra={"event": "broker_unreachable"})
        return 0


def _in_progress_count() -> int | None:
    """Tasks a worker has taken and not finished (ORM broker only; None with Redis)."""
    from django_q.brokers import get_broker

    broker = get_broker()
    lock_size = getattr(broker, "lock_size", None)
    if lock_size is None:
        return None
    try:
        return lock_size()
    except Exception:
        return None


@dataclass(frozen=True)
class FailedTask:
    """A django-q2 task that failed (only its function and time: results may hold details)."""

    func: str
    stopped: datetime


@dataclass
class WorkerState:
    """What the dashboard shows about the background workers."""

    seen: bool
    last_seen: datetime | None
    age_seconds: int | None
    sources: list[WorkerHeartbeat] = field(default_factory=list)
    queued_tasks: int = 0
    in_progress: int | None = None
    failures: int = 0
    recent_failures: list[FailedTask] = field(default_factory=list)


def worker_state() -> WorkerState:
    """The workers' heartbeats, the broker's queue and the task failures of the last 24 hours."""
    from django_q.models import Failure

    now = timezone.now()
    sources = list(WorkerHeartbeat.objects.order_by("-seen_at")[:10])
    last = sources[0].seen_at if sources else None
    failures = Failure.objects.filter(stopped__gte=now - FAILURE_WINDOW)
    return WorkerState(
        seen=bool(last and (now - last).total_seconds() <= HEARTBEAT_STALE_SECONDS),
        last_seen=last,
        age_seconds=int((now - last).total_seconds()) if last else None,
        sources=sources,
        queued_tasks=queued_task_count(),
        in_progress=_in_progress_count(),
        failures=failures.count(),
        recent_failures=[
            FailedTask(func=f.func, stopped=f.stopped)
            for f in failures.order_by("-stopped").only("func", "stopped")[:5]
        ],
    )


# --- the heartbeat thread of each worker process ------------------------------------------------

_started: set[int] = set()


def _beat_forever(name: str, stop: threading.Event) -> None:
    while True:
        try:
            close_old_connections()
            heartbeat_record(name)
        except Exception:  # the database may be busy or gone for a moment; try again later
            log.warning("worker heartbeat not written", extra={"event": "heartbeat_failed"})
        finally:
            connection.close()
        if stop.wait(HEARTBEAT_EVERY):
            return


def start_worker_heartbeat(sender=None, proc_name: str = "", **kwargs) -> threading.Thread | None:
    """django-q2 `post_spawn` receiver: start this worker process's heartbeat thread (once)."""
    from django_q.conf import Conf

    pid = os.getpid()
    # sync mode (Q_SYNC, tests) runs the worker loop inside the caller: not a worker process
    if Conf.SYNC or pid in _started:
        return None
    _started.add(pid)
    name = f"worker {socket.gethostname()}"
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat_forever, args=(name, stop), name="heartbeat", daemon=True
    )
    thread.stop = stop  # lets a test end it
    thread.start()
    return thread
