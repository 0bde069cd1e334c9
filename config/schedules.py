"""django-q2 schedules: the periodic jobs, created (or updated) by `manage.py setup_schedules`."""

from django_q.models import Schedule

# (name, dotted task, schedule type, minutes for MINUTES schedules)
SCHEDULES: list[tuple[str, str, str, int | None]] = [
    ("core.purge_idempotency_keys", "core.tasks.purge_idempotency_keys", Schedule.HOURLY, None),
    ("core.expire_override_requests", "core.tasks.expire_override_requests", Schedule.HOURLY, None),
    ("core.heartbeat", "core.tasks.heartbeat", Schedule.MINUTES, 1),
    ("core.watchdog", "core.tasks.watchdog", Schedule.MINUTES, 1),
    ("core.events_relay_all", "core.tasks.events_relay_all", Schedule.MINUTES, 1),
    ("core.webhooks_dispatch_due", "core.tasks.webhooks_dispatch_due", Schedule.MINUTES, 1),
    ("billing.purge_simulations", "billing.tasks.purge_simulations", Schedule.DAILY, None),
    (
        "invoicing.process_due_requests",
        "invoicing.tasks.process_due_requests",
        Schedule.DAILY,
        None,
    ),
    ("denials.run_nightly", "denials.tasks.run_nightly", Schedule.DAILY, None),
]


def ensure_schedules(*, enabled: bool) -> list[str]:
    """Create or update every schedule; delete them all when jobs are disabled."""
    names = [name for name, *_ in SCHEDULES]
    if not enabled:
        Schedule.objects.filter(name__in=names).delete()
        return []
    for name, func, kind, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": kind, "minutes": minutes, "repeats": -1},
        )
    return names
