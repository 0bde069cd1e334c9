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
