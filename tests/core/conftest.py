"""Fixtures of tests/core: the loopback webhook receiver and a test event type."""

from tests.core.webhook_receiver import test_event_type, webhook_receiver  # noqa: F401
