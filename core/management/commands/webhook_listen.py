"""manage.py webhook_listen --port 8099 --secret S: a local receiver that shows events arrive.

A small HTTP server for demos and for trying an endpoint out: it verifies each request the way a
consumer should (`standardwebhooks.Webhook(S).verify(body, headers)`), prints one line per event
(sequence, type, message id, object) and answers 204; a request whose signature does not verify
is printed as BAD SIGNATURE and answered 400. `--fail N` answers the first N good requests with
500, to watch the sender retry. Ctrl-C stops it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

MAX_BODY = 1024 * 1024  # a webhook body is a few KB; refuse to read anything silly


def webhook_or_error(secret: str) -> Webhook:
    """The verifier for a `whsec_...` secret, or a clear error."""
    try:
        return Webhook(secret)
    except Exception:  # binascii.Error, EmptyWebhookSecretError, ...
        raise CommandError(
            "--secret: not a Standard Webhooks secret (whsec_ followed by base64)."
        ) from None


def event_line(envelope) -> str:
    """One printed line for a verified body: sequence, type, id, object."""
    if not isinstance(envelope, dict):
        return f"- (not an event envelope: {type(envelope).__name__})"
    seq = envelope.get("sequence")
    obj = envelope.get("object") or {}
    what = ""
    if isinstance(obj, dict) and (obj.get("type") or obj.get("id")):
        what = f"{obj.get('type', '')}:{obj.get('id', '')}"
    return (
        f"#{seq if seq is not None else '-'} {envelope.get('type', '?')} "
        f"{envelope.get('id', '?')} {what}".rstrip()
    )


def make_server(
    *,
    secret: str,
    host: str = "127.0.0.1",
    port: int = 8099,
    fail: int = 0,
    write: Callable[[str], None] = print,
) -> ThreadingHTTPServer:
    """A threaded receiver bound to host:port (port 0: any free port); call serve_forever()."""
    verifier = webhook_or_error(secret)
    lock = threading.Lock()
    state = {"to_fail": max(fail, 0), "failed": 0}

    class Handler(BaseHTTPRequestHandler):
        server_version = "webhook_listen"

        def log_message(self, format, *args):  # noqa: A002  (one line per event is enough)
            return

        def _answer(self, status: int, text: str = "") -> None:
            body = text.encode()
            self.send_response(status)
            if body:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_POST(self):  # noqa: N802  (http.server's naming)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                write("BAD REQUEST (missing or oversized Content-Length)")
                self._answer(400, "bad request")
                return
            body = self.rfile.read(length)
            msg_id = self.headers.get("webhook-id", "?")
            try:
                verifier.verify(body, dict(self.headers.items()), json_parse=False)
            except WebhookVerificationError as exc:
                write(f"BAD SIGNATURE {msg_id} ({exc})")
                self._answer(400, "bad signature")
                return
            try:
                envelope = json.loads(body)
            except ValueError:
                write(f"BAD BODY {msg_id} (signed, but not JSON)")
                self._answer(400, "body is not JSON")
                return
            with lock:
                failing = state["to_fail"] > 0
                if failing:
                    state["to_fail"] -= 1
                    state["failed"] += 1
                    number = state["failed"]
            if failing:
                write(f"FAIL {number} of {fail} (answering 500 on purpose) {event_line(envelope)}")
                self._answer(500, "failing on purpose")
                return
            write(event_line(envelope))
            self._answer(204)

        def do_GET(self):  # noqa: N802
            self._answer(405, "webhook_listen: POST signed events here")

    return ThreadingHTTPServer((host, port), Handler)


class Command(BaseCommand):
    help = (
        "Run a local webhook receiver that verifies signatures (Standard Webhooks) and prints "
        "each event; Ctrl-C stops it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--secret", required=True, help="the endpoint's secret (whsec_...), shown once"
        )
        parser.add_argument(
            "--fail",
            type=int,
            default=0,
            metavar="N",
            help="answer the first N verified requests with 500 (to watch retries)",
        )

    def handle(self, *args, port, host, secret, fail, **opts):
        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            server = make_server(secret=secret, host=host, port=port, fail=fail, write=write)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = server.server_address[1]
        write(
            f"Listening on http://{host}:{bound}/ for signed webhooks"
            + (f" (failing the first {fail} with 500)" if fail else "")
            + "; Ctrl-C stops."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            write("stopped")
        finally:
            server.server_close()
