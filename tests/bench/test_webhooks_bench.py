"""The webhooks benchmark runs end to end and its figures tie out (`pytest -m bench`).

The timed figure is `manage.py bench webhooks --events 10000` (docs/benchmarks.md); this small
run checks the bench itself: every event reached every endpoint once, in order, signed.
"""

from __future__ import annotations

import pytest

from core.bench import BENCHES
from core.events import event_type_get

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("endpoints", [1, 2])
def test_bench_webhooks_delivers_every_event_once_in_order(endpoints):
    figures = BENCHES["webhooks"].run(events=1200, endpoints=endpoints)
    assert figures["exactly_once_in_order"] is True
    assert figures["events"] == figures["relayed"] == 1200
    assert figures["delivered"] == figures["received"] == figures["attempts"] == 1200 * endpoints
    assert (figures["duplicates"], figures["out_of_order"], figures["missing"]) == (0, 0, 0)
    assert figures["bad_signatures"] == 0
    assert figures["deliveries_per_second"] > 0 and figures["floor_seconds"] > 0
    # and the bench's own event type is gone from the public catalogue afterwards
    assert event_type_get("bench.webhooks.ping") is None
