"""The webhook engine's fixed numbers (Standard Webhooks timing, retry window, rotation grace)."""

from datetime import timedelta

TIMEOUT_SECONDS = 5
RETRY_WINDOW = timedelta(hours=24)
ROTATION_GRACE = timedelta(hours=24)
TEST_EVENT_TYPE = "webhook.test"
# how long one dispatcher holds an endpoint (renewed by nobody: a crashed worker's lease lapses)
LEASE = timedelta(seconds=60)
# backoff: BACKOFF_BASE * 2^(n-1), capped, then jittered by 0.5x..1.5x
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
EXCERPT_BYTES = 1024
USER_AGENT = "healthbill-webhooks/1"
