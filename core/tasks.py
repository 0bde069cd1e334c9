"""django-q2 entry points of core: take ids, call one service, idempotent."""

import logging

from core.api.idempotency import idempotency_keys_purge
from core.overrides import override_requests_expire

log = logging.getLogger("healthbill.jobs")


def purge_idempotency_keys() -> int:
    """Forget Idempotency-Keys older than 24 hours."""
    return idempotency_keys_purge()


def expire_override_requests() -> int:
    """Expire override requests nobody decided within their deadline."""
    return override_requests_expire()


def heartbeat() -> str:
    """Record that the scheduler and a worker ran this job (the dashboard shows it), and log it."""
    from core.health import heartbeat_record

    heartbeat_record("scheduled heartbeat")
    log.info("heartbeat", extra={"event": "heartbeat"})
    return "ok"


def watchdog() -> str:
    """Queue again (or fail) the long jobs a dead worker left behind (core.watchdog)."""
    from core.watchdog import watchdog_pass

    done = watchdog_pass()
    return f"requeued={done.requeued} failed={done.failed}"


def events_relay(tenant_id: int) -> int:
    """Pass a tenant's new events on to webhook deliveries and notifications."""
    from core.outbox import events_relay as relay

    return relay(tenant_id)


def events_relay_all() -> int:
    """The periodic safety net: relay every tenant's events the after-commit task missed."""
    from core.outbox import events_relay_all as relay_all

    return relay_all()


def webhook_dispatch(endpoint_id: int) -> int:
    """Send an endpoint's due webhook deliveries in order (one dispatcher per endpoint)."""
    from core.webhooks import webhook_dispatch as dispatch

    return dispatch(endpoint_id)


def webhooks_dispatch_due() -> int:
    """The periodic safety net: dispatch every endpoint with a delivery due (retries too)."""
    from core.webhooks import webhooks_dispatch_due as dispatch_due

    return dispatch_due()
