"""Signed webhooks (Standard Webhooks): endpoints, deliveries in order per endpoint, retries.

The public names of the engine; see services (management), dispatch (sending), safety (which
URLs may be called), signing (secrets and headers) and selectors (reads).
"""

from core.webhooks.dispatch import (
    backoff,
    deliveries_create,
    delivery_attempt,
    endpoint_screen_link,
    webhook_dispatch,
    webhooks_dispatch_due,
)
from core.webhooks.limits import RETRY_WINDOW, ROTATION_GRACE, TEST_EVENT_TYPE, TIMEOUT_SECONDS
from core.webhooks.safety import url_check
from core.webhooks.selectors import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from core.webhooks.services import (
    secrets_in_force,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_set_active,
    webhook_endpoint_update,
    webhook_replay_range,
    webhook_secret_rotate,
    webhook_send_test,
)

__all__ = [
    "RETRY_WINDOW",
    "ROTATION_GRACE",
    "TEST_EVENT_TYPE",
    "TIMEOUT_SECONDS",
    "backoff",
    "deliveries_create",
    "delivery_attempt",
    "endpoint_screen_link",
    "secrets_in_force",
    "url_check",
    "webhook_delivery_get",
    "webhook_delivery_list",
    "webhook_delivery_replay",
    "webhook_dispatch",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_get",
    "webhook_endpoint_list",
    "webhook_endpoint_set_active",
    "webhook_endpoint_update",
    "webhook_replay_range",
    "webhook_secret_rotate",
    "webhook_send_test",
    "webhooks_dispatch_due",
]
