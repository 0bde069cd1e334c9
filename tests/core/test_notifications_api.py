"""The notifications API: your own inbox in the current tenant, mark read, preferences (the
permission matrix covers the endpoints: tests/core/endpoints_notifications.py)."""

import pytest

from core import scopes as S
from core.models import Notification, NotificationPreference
from core.notifications import WEBHOOK_DISABLED
from core.outbox import events_relay
from core.services import api_token_create
from tests.core.notify_fixture import PING, PING_LABEL, ping, ping_registered

VIEWER, OWNER = S.Role.VIEWER, S.Role.OWNER


@pytest.fixture
def ping_type():
    with ping_registered() as name:
        yield name


@pytest.fixture
def inbox(world, ping_type, django_capture_on_commit_callbacks):
    """Three pings for the viewer, one for the owner, relayed."""
    for n in (1, 2, 3):
        ping(world.tenant, n, [world.users[VIEWER]])
    ping(world.tenant, 4, [world.users[OWNER]])
    with django_capture_on_commit_callbacks(execute=True):
        events_relay(world.tenant.pk)
    return world


def test_list_shows_only_your_notifications_newest_first(inbox):
    body = inbox.client(VIEWER).get("/api/notifications").json()
    titles = [n["title"] for n in body["results"]]
    assert titles == ["Ping 3 waits for you", "Ping 2 waits for you", "Ping 1 waits for you"]
    first = body["results"][0]
    assert first["kind"] == PING and first["read"] is False and first["read_at"] is None
    assert first["link"] == "/notifications/?ping=3"
    assert first["event_id"].startswith("evt_")
    assert first["body"] == PING_LABEL
    # tenant B's owner sees none of them
    assert inbox.client("outsider").get("/api/notifications").json()["results"] == []


def test_mark_read_and_unread_filter(inbox):
    c = inbox.client(VIEWER)
    oldest = Notification.objects.filter(user=inbox.users[VIEWER]).order_by("pk").first()
    response = c.post(f"/api/notifications/{oldest.pk}/read")
    assert response.status_code == 200
    assert response.json()["read"] is True and response.json()["read_at"]
    # marking again changes nothing
    again = c.post(f"/api/notifications/{oldest.pk}/read").json()
    assert again["read_at"] == response.json()["read_at"]
    unread = c.get("/api/notifications?unread=true").json()["results"]
    assert [n["title"] for n in unread] == ["Ping 3 waits for you", "Ping 2 waits for you"]
    assert c.get("/api/notifications?unread=maybe").status_code == 400


def test_read_all_marks_only_yours(inbox):
    response = inbox.client(VIEWER).post("/api/notifications/read-all")
    assert response.status_code == 200 and response.json() == {"marked": 3}
    assert inbox.client(VIEWER).post("/api/notifications/read-all").json() == {"marked": 0}
    owner_row = Notification.objects.get(user=inbox.users[OWNER])
    assert owner_row.read_at is None


def test_someone_elses_notification_is_not_found(inbox):
    theirs = Notification.objects.get(user=inbox.users[OWNER])
    for who in (VIEWER, "outsider"):
        response = inbox.client(who).post(f"/api/notifications/{theirs.pk}/read")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_token_reads_its_users_inbox(inbox, token_client):
    _, raw = api_token_create(actor=inbox.actor(VIEWER), name="inbox", scopes=[S.BILLING_RUN_VIEW])
    results = token_client(raw).get("/api/notifications").json()["results"]
    assert len(results) == 3


def test_preferences_read_and_set(world, ping_type):
    c = world.client(VIEWER)
    prefs = c.get("/api/notifications/preferences").json()
    assert {"kind": PING, "label": PING_LABEL, "inbox": True, "email": True} in prefs
    assert WEBHOOK_DISABLED not in [p["kind"] for p in prefs]
    response = c.post(
        "/api/notifications/preferences",
        {"kind": PING, "inbox": True, "email": False},
        format="json",
    )
    assert response.status_code == 200
    assert {"kind": PING, "label": PING_LABEL, "inbox": True, "email": False} in response.json()
    pref = NotificationPreference.objects.get(user=world.users[VIEWER], kind=PING)
    assert (pref.inbox, pref.email) == (True, False)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": PING, "inbox": "false", "email": True}, "inbox"),
        ({"kind": PING, "inbox": True}, "email"),
        ({"kind": PING, "inbox": True, "email": True, "extra": 1}, "extra"),
        ({"kind": "billing.none", "inbox": True, "email": True}, "kind"),
    ],
)
def test_preferences_refuse_bad_bodies(world, ping_type, body, field):
    response = world.client(VIEWER).post("/api/notifications/preferences", body, format="json")
    assert response.status_code == 400
    assert field in str(response.json())
    assert not NotificationPreference.objects.exists()
