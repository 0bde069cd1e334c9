"""`manage.py bench webhooks --events N [--endpoints E]`: N events delivered to loopback receivers.

A fresh tenant gets E webhook endpoints (1 by default), each at its own path of an in-process
threaded HTTP receiver on 127.0.0.1 that verifies every signature (`standardwebhooks`), answers
204 and records the sequence numbers it received per endpoint. The bench then emits N events of a
bench-only type (`core.events.event_emit_many`, batches of 1,000, one transaction each), relays
them (`core.outbox.events_relay`: one delivery per endpoint and event) and dispatches each
endpoint (`core.webhooks.webhook_dispatch` until nothing is due), each phase timed. The tasks the
code would queue after commit are held back (the bench drives the relay and the dispatch itself,
in this process), so the clock covers exactly those calls.

The figures check that every event reached every endpoint exactly once and in sequence order
(duplicates 0, out of order 0, missing 0, bad signatures 0, every delivery DELIVERED after one
attempt); otherwise the command fails (exit 1) with the figures in its message. The floor is the
least any sender must do, measured in the same run: sign and POST the same N bodies once, in
order, over one kept-alive connection to the same kind of receiver, with no database.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from standardwebhooks import Webhook

from core.bench import Bench, Timer, peak_rss_mb, register_bench

BENCH_TYPE = "bench.webhooks.ping"
EMIT_BATCH = 1000


@contextmanager
def bench_event_type():
    """A catalogued type for the bench's own events, taken out of the catalogue afterwards.

    It is registered only while the bench runs so the public catalogue (API, README, the PHI
    scan of every sample) never lists it.
    """
    from core import events as catalogue

    had = catalogue.event_type_get(BENCH_TYPE)
    catalogue.event_types_register(
        "bench",
        [
            catalogue.EventType(
                name=BENCH_TYPE,
                description="Bench only: a numbered ping.",
                object_type="bench.Ping",
                sample={"n": 1, "amount": "12.34"},
            )
        ],
    )
    try:
        yield BENCH_TYPE
    finally:
        if had is None:
            catalogue._TYPES.pop(BENCH_TYPE, None)


class Receiver:
    """A threaded loopback HTTP/1.1 receiver that verifies, counts and orders what it gets."""

    def __init__(self, secrets: dict[str, str] | None = None) -> None:
        self.verifiers = {path: Webhook(s) for path, s in (secrets or {}).items()}
        self.lock = threading.Lock()
        self.received: dict[str, list[int]] = {}
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would offer

            def log_message(self, format, *args):  # noqa: A002
                return

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.take(self.path, body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def take(self, path: str, body: bytes, headers: dict) -> int:
        verifier = self.verifiers.get(path)
        try:
            if verifier is None:
                raise ValueError("no secret for this path")
            envelope = verifier.verify(body, headers)
        except Exception:
            with self.lock:
                self.bad_signatures += 1
            return 400
        with self.lock:
            self.received.setdefault(path, []).append(envelope["sequence"])
        return 204

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def order_figures(received: list[int], expected: list[int]) -> dict:
    """Duplicates, out-of-order arrivals and missing sequences of one endpoint."""
    seen = set(received)
    return {
        "received": len(received),
        "duplicates": len(received) - len(seen),
        "out_of_order": sum(1 for a, b in zip(received, received[1:], strict=False) if b <= a),
        "missing": len(set(expected) - seen),
        "unexpected": len(seen - set(expected)),
    }


def _floor(events) -> float:
    """Seconds to sign and POST the same bodies once, in order, on one kept-alive connection."""
    import urllib3

    from core.events import event_envelope

    secret = "whsec_" + "YmVuY2gtZmxvb3ItYmVuY2gtZmxvb3ItYmVuY2gtZmw="
    with Receiver({"/floor": secret}) as receiver:
        signer = Webhook(secret)
        pool = urllib3.HTTPConnectionPool("127.0.0.1", receiver.port, maxsize=1, retries=False)
        with Timer() as clock:
            for event in events:
                body = json.dumps(event_envelope(event), separators=(",", ":")).encode()
                now = datetime.now(UTC)
                headers = {
                    "content-type": "application/json",
                    "webhook-id": event.message_id,
                    "webhook-timestamp": str(int(now.timestamp())),
                    "webhook-signature": signer.sign(event.message_id, now, body),
                }
                pool.urlopen("POST", "/floor", body=body, headers=headers, timeout=5)
        pool.close()
    return clock.seconds


def _args(parser) -> None:
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=1, help="receivers (default 1)")


def _run(*, events: int, endpoints: int = 1, **_) -> dict:
    from core.actors import Actor
    from core.events import event_emit_many
    from core.models import Event, WebhookAttempt, WebhookDelivery
    from core.outbox import events_relay
    from core.services import tenant_create
    from core.webhooks import webhook_dispatch, webhook_endpoint_create

    held_back: list[str] = []
    tenant = tenant_create(slug=f"bench-webhooks-{int(time.time())}", name="bench")
    actor = Actor.system_for(tenant)
    with (
        bench_event_type() as type_name,
        # http to loopback is allowed only in DEBUG: the receivers are this process's own
        override_settings(DEBUG=True),
        # the bench drives the relay and the dispatch itself (no worker, no Q_SYNC side trips)
        mock.patch("core.queue.enqueue", lambda func, *a, **k: held_back.append(func)),
        Receiver() as receiver,
    ):
        created = []
        for i in range(endpoints):
            path = f"/endpoint-{i + 1}"
            endpoint, secret = webhook_endpoint_create(
                actor=actor, url=receiver.url(path), description=f"bench {i + 1}"
            )
            receiver.verifiers[path] = Webhook(secret)
            created.append((endpoint, path))

        with Timer() as emit:
            for start in range(0, events, EMIT_BATCH):
                items = [
                    {"object_id": n, "payload": {"n": n, "amount": "12.34"}}
                    for n in range(start + 1, min(start + EMIT_BATCH, events) + 1)
                ]
                with transaction.atomic():
                    event_emit_many(tenant=tenant, type=type_name, items=items)
        with Timer() as relay:
            relayed = events_relay(tenant.pk)
        with Timer() as dispatch:
            sent = 0
            for endpoint, _path in created:
                while True:
                    n = webhook_dispatch(endpoint.pk)
                    sent += n
                    if not n:
                        break
        emitted = list(
            Event.objects.filter(tenant=tenant)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        per_endpoint = [order_figures(receiver.received.get(p, []), emitted) for _e, p in created]
        bad_signatures = receiver.bad_signatures
        floor_events = list(Event.objects.filter(tenant=tenant).select_related("tenant"))
    floor = _floor(floor_events)

    deliveries = WebhookDelivery.objects.filter(tenant=tenant)
    delivered = deliveries.filter(status="DELIVERED").count()
    attempts = WebhookAttempt.objects.filter(delivery__tenant=tenant).count()

    def total(key: str) -> int:
        return sum(f[key] for f in per_endpoint)

    expected = events * endpoints
    figures = {
        "bench": "webhooks",
        "database": connection.vendor,
        "events": len(emitted),
        "endpoints": endpoints,
        "relayed": relayed,
        "deliveries": deliveries.count(),
        "delivered": delivered,
        "attempts": attempts,
        "received": total("received"),
        "duplicates": total("duplicates"),
        "out_of_order": total("out_of_order"),
        "missing": total("missing"),
        "bad_signatures": bad_signatures,
        "emit_seconds": emit.seconds,
        "relay_seconds": relay.seconds,
        "dispatch_seconds": dispatch.seconds,
        "deliveries_per_second": round(sent / dispatch.seconds, 1) if dispatch.seconds else None,
        "end_to_end_per_second": (
            round(sent / (emit.seconds + relay.seconds + dispatch.seconds), 1) if sent else None
        ),
        "floor_seconds": floor,
        "floor_ratio": round(dispatch.seconds / floor, 1) if floor else None,
        "tasks_held_back": len(held_back),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tenant": tenant.slug,
    }
    figures["exactly_once_in_order"] = (
        figures["events"] == events
        and delivered == attempts == figures["received"] == expected
        and sent == expected
        and figures["duplicates"] == figures["out_of_order"] == figures["missing"] == 0
        and total("unexpected") == 0
        and bad_signatures == 0
    )
    if not figures["exactly_once_in_order"]:
        raise CommandError(f"webhooks bench: not exactly once in order: {json.dumps(figures)}")
    return figures


register_bench(
    Bench(
        "webhooks",
        "emit N events, relay and deliver them to loopback receivers; deliveries per second",
        _args,
        _run,
    )
)
