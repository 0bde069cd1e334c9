"""The webhook commands: `webhook_listen` verifies and prints, `events_replay` queues a range."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from standardwebhooks import Webhook

from core.management.commands.webhook_listen import make_server

SECRET = "whsec_" + "ZGVtby13ZWJob29rLXNlY3JldC0yMDI2LWxpc3Rlbg=="
OTHER = "whsec_" + "YW5vdGhlci1zZWNyZXQtbm90LXRoZS1yaWdodC1vbmU="


def envelope(seq: int, type_: str = "billing.run.completed") -> dict:
    return {
        "id": f"evt_{seq:032x}",
        "type": type_,
        "timestamp": "2026-12-05T02:00:00Z",
        "sequence": seq,
        "tenant": "demo",
        "object": {"type": "billing.BillingRun", "id": str(seq)},
        "data": {"status": "COMPLETED"},
    }


def post(url: str, body: dict, *, secret: str, signature: str | None = None) -> int:
    raw = json.dumps(body).encode()
    msg_id = body["id"]
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature or Webhook(secret).sign(msg_id, now, raw),
    }
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def listener():
    """Start a receiver on a free loopback port; yields (url, printed lines, start(fail=N))."""
    lines: list[str] = []
    servers = []

    def start(fail: int = 0) -> str:
        server = make_server(secret=SECRET, port=0, fail=fail, write=lines.append)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start, lines
    for server in servers:
        server.shutdown()
        server.server_close()


# --- webhook_listen ----------------------------------------------------------------------------


def test_listener_prints_a_verified_event_and_answers_204(listener):
    start, lines = listener
    url = start()
    # when a correctly signed event arrives
    status = post(url, envelope(7), secret=SECRET)
    # then it is accepted and printed as one line: sequence, type, id, object
    assert status == 204
    assert lines == [f"#7 billing.run.completed evt_{7:032x} billing.BillingRun:7"]


def test_listener_refuses_a_bad_signature_with_400(listener):
    start, lines = listener
    url = start()
    # when the body was signed with another secret
    assert post(url, envelope(1), secret=OTHER) == 400
    # or a header is missing altogether
    assert post(url, envelope(2), secret=SECRET, signature=" ") == 400
    # then both are printed as BAD SIGNATURE, and no event line appears
    assert len(lines) == 2
    assert all(line.startswith("BAD SIGNATURE evt_") for line in lines)


def test_listener_accepts_either_signature_during_a_rotation(listener):
    start, lines = listener
    url = start()
    body = envelope(3)
    raw = json.dumps(body).encode()
    now = datetime.now(UTC)
    # given a sender signing with the new secret (unknown here) and the old one (ours)
    both = " ".join(Webhook(s).sign(body["id"], now, raw) for s in (OTHER, SECRET))
    assert post(url, body, secret=SECRET, signature=both) == 204
    assert lines == [f"#3 billing.run.completed evt_{3:032x} billing.BillingRun:3"]


def test_listener_fails_the_first_n_on_purpose(listener):
    start, lines = listener
    url = start(fail=2)
    # when the same event is sent three times (a sender retrying)
    statuses = [post(url, envelope(5), secret=SECRET) for _ in range(3)]
    # then the first two get 500 and the third is accepted
    assert statuses == [500, 500, 204]
    assert lines[0].startswith("FAIL 1 of 2") and lines[1].startswith("FAIL 2 of 2")
    assert lines[2].startswith("#5 billing.run.completed")


def test_listener_prints_a_test_event_without_a_sequence(listener):
    start, lines = listener
    url = start()
    body = {"id": "msg_test1", "type": "webhook.test", "timestamp": "x", "data": {}}
    assert post(url, body, secret=SECRET) == 204
    assert lines == ["#- webhook.test msg_test1"]


def test_webhook_listen_command_starts_prints_and_stops_on_ctrl_c(monkeypatch):
    from http.server import ThreadingHTTPServer

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ThreadingHTTPServer, "serve_forever", interrupted)
    out = io.StringIO()
    call_command("webhook_listen", "--port", "0", "--secret", SECRET, "--fail", "1", stdout=out)
    text = out.getvalue()
    assert text.startswith("Listening on http://127.0.0.1:")
    assert "(failing the first 1 with 500)" in text
    assert text.rstrip().endswith("stopped")


def test_webhook_listen_refuses_a_secret_that_is_not_one():
    with pytest.raises(CommandError, match="--secret: not a Standard Webhooks secret"):
        call_command("webhook_listen", "--port", "0", "--secret", "whsec_###")


# --- events_replay -----------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def hooked(world, settings):
    """Tenant alpha: a loopback endpoint (DEBUG allows http there), five events a day apart."""
    from core.models import Event
    from core.webhooks import webhook_endpoint_create

    settings.DEBUG = True
    endpoint, _secret = webhook_endpoint_create(
        actor=world.actor("OWNER"), url="http://127.0.0.1:9/hook"
    )
    for day in range(1, 6):
        Event.objects.create(
            tenant=world.tenant,
            sequence=1000 + day,
            type="billing.run.completed",
            object_type="billing.BillingRun",
            object_id=str(day),
            payload={"status": "COMPLETED"},
            occurred_at=datetime(2026, 12, day, 12, 0, tzinfo=UTC),
        )
    return endpoint


def replays(endpoint) -> list[int]:
    from core.models import WebhookDelivery

    return list(
        WebhookDelivery.objects.filter(endpoint=endpoint, kind="REPLAY")
        .order_by("id")
        .values_list("event__sequence", flat=True)
    )


def test_events_replay_queues_the_range_and_says_how_many(hooked):
    # when the operator replays 2 to 4 December (a date alone is the start of that day, UTC)
    out = run(
        "events_replay",
        "--tenant",
        "alpha",
        "--endpoint",
        str(hooked.pk),
        "--since",
        "2026-12-02",
        "--until",
        "2026-12-04T23:59:59Z",
    )
    # then three REPLAY deliveries are queued, in event order, and the command says so
    assert replays(hooked) == [1002, 1003, 1004]
    assert out.strip() == (
        f"Queued 3 deliveries for endpoint {hooked.pk} of tenant 'alpha' "
        "(from 2026-12-02 to 2026-12-04T23:59:59Z)."
    )


def test_events_replay_without_until_runs_to_now(hooked):
    out = run(
        "events_replay",
        "--tenant",
        "alpha",
        "--endpoint",
        str(hooked.pk),
        "--since",
        "2026-12-05T00:00",
    )
    assert replays(hooked) == [1005]
    assert out.strip().startswith(f"Queued 1 delivery for endpoint {hooked.pk}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nowhere", "--since", "2026-12-01"], "No tenant with slug 'nowhere'."),
        (["--tenant", "alpha", "--since", "yesterday"], "--since: expected an ISO date"),
        (
            ["--tenant", "alpha", "--since", "2026-12-03", "--until", "2026-12-02"],
            "--until (2026-12-02) is before --since (2026-12-03).",
        ),
    ],
)
def test_events_replay_refuses_bad_arguments_clearly(hooked, args, message):
    with pytest.raises(CommandError) as error:
        run("events_replay", "--endpoint", str(hooked.pk), *args)
    assert message in str(error.value)
    assert replays(hooked) == []


def test_events_replay_refuses_an_endpoint_of_another_tenant(hooked):
    # the endpoint belongs to alpha: beta cannot replay to it (nor learn that it exists)
    with pytest.raises(CommandError) as error:
        run(
            "events_replay",
            "--tenant",
            "beta",
            "--endpoint",
            str(hooked.pk),
            "--since",
            "2026-12-01",
        )
    assert str(error.value).startswith(f"endpoint {hooked.pk}: ")
    assert replays(hooked) == []
    with pytest.raises(CommandError):
        run("events_replay", "--tenant", "alpha", "--endpoint", "999999", "--since", "2026-12-01")


# --- the demo endpoint, and the listener against the real sender ---------------------------------


def test_demo_endpoint_uses_the_printed_secret_and_is_idempotent(world, settings):
    from core.demo import DEMO_WEBHOOK_SECRET, DEMO_WEBHOOK_URL, load_webhook_demo
    from core.models import WebhookEndpoint
    from core.webhooks import webhook_endpoint_set_active

    settings.DEBUG = True
    # when the demo loader runs
    text = load_webhook_demo(world.tenant)
    # then the tenant has one endpoint at the listener's URL, signing with the printed secret
    endpoint = WebhookEndpoint.objects.get(tenant=world.tenant)
    assert endpoint.url.rstrip("/") == DEMO_WEBHOOK_URL.rstrip("/")
    assert endpoint.secret == DEMO_WEBHOOK_SECRET and endpoint.active
    assert f"manage.py webhook_listen --port 8099 --secret {DEMO_WEBHOOK_SECRET}" in text
    # when nobody listened for a day (the endpoint was disabled) and the demo is loaded again
    webhook_endpoint_set_active(
        actor=world.actor("OWNER"), endpoint_id=endpoint.pk, active=False, reason="test"
    )
    load_webhook_demo(world.tenant)
    # then it is the same endpoint, active again, nothing duplicated
    assert list(
        WebhookEndpoint.objects.filter(tenant=world.tenant).values_list("pk", "active")
    ) == [(endpoint.pk, True)]


def test_demo_endpoint_is_not_created_without_debug(world, settings):
    from core.demo import load_webhook_demo
    from core.models import WebhookEndpoint

    settings.DEBUG = False
    assert "needs DEBUG=true" in load_webhook_demo(world.tenant)
    assert not WebhookEndpoint.objects.filter(tenant=world.tenant).exists()


def test_listener_verifies_what_the_sender_signs(world, settings):
    from core.webhooks import webhook_endpoint_create, webhook_endpoint_update, webhook_send_test

    settings.DEBUG = True
    actor = world.actor("OWNER")
    lines: list[str] = []
    # given an endpoint (its secret is known once it exists) and a listener using that secret
    endpoint, secret = webhook_endpoint_create(actor=actor, url="http://127.0.0.1:9/")
    server = make_server(secret=secret, port=0, write=lines.append)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        webhook_endpoint_update(actor=actor, endpoint_id=endpoint.pk, url=url)
        # when a test event is sent
        delivery = webhook_send_test(actor=actor, endpoint_id=endpoint.pk)
    finally:
        server.shutdown()
        server.server_close()
    # then the listener verified and printed it, and the sender logged the 204
    assert delivery.status == "DELIVERED" and delivery.last_status_code == 204
    assert len(lines) == 1 and lines[0].startswith("#- webhook.test "), lines


# --- the README how-to ---------------------------------------------------------------------------


def test_readme_events_section_documents_the_commands_and_the_demo_secret():
    import re
    from pathlib import Path

    from django.core.management import get_commands

    from core.demo import DEMO_WEBHOOK_SECRET

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index("\n## Events and webhooks\n")
    section = readme[start : readme.index("\n## ", start + 1)]
    # the how-to subsections are there (the API and catalogue subsections are added beside them)
    for title in (
        "Events: the outbox guarantee",
        "Webhook deliveries: signed, ordered, retried",
        "Safe targets (no server-side request forgery)",
        "Secret rotation",
        "Notifications",
        "Verifying a signature in a consumer",
        "Watching events arrive: `webhook_listen`",
        "Replaying a range: `events_replay`",
    ):
        assert f"\n### {title}\n" in section, title
    # the commands exist, are in the commands table, and the demo's listen command is the real one
    table = readme[readme.index("\n## Commands\n") :]
    for name in ("webhook_listen", "events_replay"):
        assert get_commands().get(name) == "core", name
        assert f"| `{name} --" in table, name
    assert f"manage.py webhook_listen --port 8099 --secret {DEMO_WEBHOOK_SECRET}" in section
    # and the consumer snippet is valid Python
    snippet = re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)
    compile(snippet, "README consumer snippet", "exec")


def test_listener_refuses_a_signed_body_that_is_not_json(listener):
    start, lines = listener
    url = start()
    raw, now = b"not json", datetime.now(UTC)
    headers = {
        "webhook-id": "msg_x",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_x", now, raw),
    }
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=5)
    assert error.value.code == 400
    assert lines == ["BAD BODY msg_x (signed, but not JSON)"]
