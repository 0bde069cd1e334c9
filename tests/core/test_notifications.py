"""Staff notifications: who gets an inbox row and an email for an event, preferences, the unread
count in the navigation, mark read, tenants and removed members, the ADMIN notice."""

import re

import pytest
from django.test import Client

from core import scopes as S
from core.actors import Actor
from core.models import Notification, NotificationPreference, TenantMembership
from core.notifications import (
    WEBHOOK_DISABLED,
    inbox_list,
    inbox_unread_count,
    notification_mark_read,
    notification_preference_set,
    notification_preferences,
    notifications_mark_all_read,
    notify_admins,
    notify_events,
    notify_users,
)
from core.outbox import events_relay
from core.services import membership_add, membership_remove
from tests.core.notify_fixture import PING, PING_LABEL, SECRET_NOTE, ping, ping_registered
from tests.fixtures import add_user

VIEWER, OPS, OWNER = S.Role.VIEWER, S.Role.OPERATIONS, S.Role.OWNER


@pytest.fixture
def ping_type():
    with ping_registered() as name:
        yield name


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _nav_count(user) -> int:
    """The unread count the navigation shows the user (0 when no badge)."""
    html = _client(user).get("/").content.decode()
    assert 'id="inbox-link"' in html
    found = re.search(r'id="inbox-count"[^>]*>(\d+)<', html)
    return int(found.group(1)) if found else 0


def _relay(tenant, capture):
    """Run the relay as the worker would, firing the after-commit emails."""
    with capture(execute=True):
        return events_relay(tenant.pk)


def _with_emails(world):
    for role, user in world.users.items():
        user.email = f"{role.lower()}@alpha.example"
        user.save(update_fields=["email"])
    world.outsider.email = "owner@beta.example"
    world.outsider.save(update_fields=["email"])


# --- who gets what ----------------------------------------------------------------------------


def test_inbox_counts_for_the_right_users_only(
    world, ping_type, django_capture_on_commit_callbacks
):
    # given two events: one for the viewer and operations, one for the viewer only
    viewer, ops = world.users[VIEWER], world.users[OPS]
    ping(world.tenant, 1, [viewer, ops])
    ping(world.tenant, 2, [viewer])
    # when the relay passes them on
    assert _relay(world.tenant, django_capture_on_commit_callbacks) == 2
    # then the viewer has two unread notices, operations one, everyone else none
    assert _nav_count(viewer) == 2
    assert _nav_count(ops) == 1
    for role in (S.Role.OWNER, S.Role.ADMIN, S.Role.BILLING_MANAGER):
        assert _nav_count(world.users[role]) == 0
    assert sorted(Notification.objects.filter(user=viewer).values_list("title", flat=True)) == [
        "Ping 1 waits for you",
        "Ping 2 waits for you",
    ]
    row = Notification.objects.get(user=ops)
    assert (row.kind, row.link, row.body, row.tenant_id) == (
        PING,
        "/notifications/?ping=1",
        PING_LABEL,
        world.tenant.pk,
    )
    # and the inbox screen lists them with their links
    html = _client(viewer).get("/notifications/").content.decode()
    assert html.count('class="unread"') == 2
    assert "Ping 2 waits for you" in html and "Ping 1 waits for you" in html


def test_relaying_again_notifies_nobody_twice(
    world, ping_type, django_capture_on_commit_callbacks, mailoutbox
):
    # given an event already relayed
    _with_emails(world)
    event = ping(world.tenant, 1, [world.users[VIEWER]])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    # when the relay runs again, and even the handler is called again with the same event
    _relay(world.tenant, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        notify_events([event])
    # then one notice, one email
    assert Notification.objects.filter(user=world.users[VIEWER]).count() == 1
    assert len(mailoutbox) == 1


def test_email_goes_to_the_recipient_and_carries_no_payload_text(
    world, ping_type, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.SITE_URL = "https://billing.example.org"
    _with_emails(world)
    # given an event whose payload carries text that must never reach an email
    ping(world.tenant, 7, [world.users[VIEWER]])
    # when relayed
    _relay(world.tenant, django_capture_on_commit_callbacks)
    # then one email, to the viewer's address, with the title, an absolute link and no payload text
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["viewer@alpha.example"]
    assert mail.subject == "[Healthbill] Ping 7 waits for you"
    assert "https://billing.example.org/notifications/?ping=7" in mail.body
    assert "https://billing.example.org/notifications/preferences/" in mail.body
    for text in (mail.subject, mail.body):
        assert SECRET_NOTE not in text
        assert "Jane" not in text and "1961" not in text
    assert Notification.objects.get(user=world.users[VIEWER]).emailed is True


def test_a_user_without_an_address_gets_the_inbox_row_and_no_email(
    world, ping_type, django_capture_on_commit_callbacks, mailoutbox
):
    ping(world.tenant, 1, [world.users[VIEWER]])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    assert mailoutbox == []
    assert inbox_unread_count(user=world.users[VIEWER], tenant=world.tenant) == 1
    assert Notification.objects.get(user=world.users[VIEWER]).emailed is False


def test_preferences_switch_inbox_and_email_off_separately(
    world, ping_type, django_capture_on_commit_callbacks, mailoutbox
):
    # given the viewer turned the inbox off and operations turned email off for pings
    _with_emails(world)
    viewer, ops = world.users[VIEWER], world.users[OPS]
    notification_preference_set(actor=world.actor(VIEWER), kind=PING, inbox=False, email=True)
    notification_preference_set(actor=world.actor(OPS), kind=PING, inbox=True, email=False)
    # when a ping for both is relayed
    ping(world.tenant, 1, [viewer, ops])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    # then the viewer has no inbox row but an email; operations a row and no email
    assert not Notification.objects.filter(user=viewer).exists()
    assert Notification.objects.filter(user=ops).count() == 1
    assert [m.to for m in mailoutbox] == [["viewer@alpha.example"]]
    assert _nav_count(viewer) == 0 and _nav_count(ops) == 1


def test_both_off_reaches_nobody(world, ping_type, django_capture_on_commit_callbacks, mailoutbox):
    _with_emails(world)
    notification_preference_set(actor=world.actor(VIEWER), kind=PING, inbox=False, email=False)
    ping(world.tenant, 1, [world.users[VIEWER]])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists() and mailoutbox == []


def test_other_tenants_user_named_as_recipient_gets_nothing(
    world, ping_type, django_capture_on_commit_callbacks, mailoutbox
):
    # given an event of tenant A that (wrongly) names tenant B's owner
    _with_emails(world)
    ping(world.tenant, 1, [world.outsider, world.users[VIEWER]])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    # then B's owner has nothing, in the inbox or by email, and sees no count
    assert not Notification.objects.filter(user=world.outsider).exists()
    assert [m.to for m in mailoutbox] == [["viewer@alpha.example"]]
    assert _nav_count(world.outsider) == 0
    assert "Ping 1" not in _client(world.outsider).get("/notifications/").content.decode()


def test_a_user_in_two_tenants_sees_the_current_tenants_inbox(
    world, ping_type, django_capture_on_commit_callbacks
):
    # given the viewer of A is also a member of B, with one notice in each tenant
    viewer = world.users[VIEWER]
    membership_add(actor=Actor.system_for(world.other_tenant), user=viewer, role=VIEWER)
    ping(world.tenant, 1, [viewer])
    ping(world.tenant, 2, [viewer])
    ping(world.other_tenant, 3, [viewer])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    _relay(world.other_tenant, django_capture_on_commit_callbacks)
    assert inbox_unread_count(user=viewer, tenant=world.tenant) == 2
    assert inbox_unread_count(user=viewer, tenant=world.other_tenant) == 1
    # when they switch to B, the count and the list are B's
    c = _client(viewer)
    c.post("/tenant/switch/", {"tenant": world.other_tenant.slug})
    html = c.get("/notifications/").content.decode()
    assert re.search(r'id="inbox-count"[^>]*>1<', html)
    assert "Ping 3" in html and "Ping 1" not in html
    assert [n.title for n in inbox_list(Actor(tenant=world.other_tenant, user=viewer))] == [
        "Ping 3 waits for you"
    ]


def test_a_removed_member_gets_nothing(
    world, ping_type, django_capture_on_commit_callbacks, mailoutbox
):
    # given a member removed after the event was written but before it was relayed
    _with_emails(world)
    leaver = add_user(world.tenant, "alpha-leaver", VIEWER)
    leaver.email = "leaver@alpha.example"
    leaver.save(update_fields=["email"])
    ping(world.tenant, 1, [leaver, world.users[OPS]])
    membership = TenantMembership.objects.get(tenant=world.tenant, user=leaver)
    membership_remove(actor=world.actor(OWNER), membership_id=membership.pk)
    _relay(world.tenant, django_capture_on_commit_callbacks)
    # then the leaver gets no row and no email; the others are unaffected
    assert not Notification.objects.filter(user=leaver).exists()
    assert [m.to for m in mailoutbox] == [["operations@alpha.example"]]


def test_an_inactive_user_gets_nothing(world, ping_type, django_capture_on_commit_callbacks):
    viewer = world.users[VIEWER]
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    ping(world.tenant, 1, [viewer])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists()


def test_a_type_without_recipients_notifies_nobody(world, django_capture_on_commit_callbacks):
    from core import events as E
    from core.events import EventType, event_emit, event_types_register

    event_types_register(
        "tests", [EventType(name="tests.notify.silent", description="x", object_type="", sample={})]
    )
    try:
        event_emit(tenant=world.tenant, type="tests.notify.silent", object_id=1, payload={})
        assert _relay(world.tenant, django_capture_on_commit_callbacks) == 1
    finally:
        E._TYPES.pop("tests.notify.silent", None)
    assert not Notification.objects.exists()


# --- mark read ----------------------------------------------------------------------------------


def test_mark_read_changes_the_count(world, ping_type, django_capture_on_commit_callbacks):
    viewer = world.users[VIEWER]
    for n in (1, 2, 3):
        ping(world.tenant, n, [viewer])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    assert _nav_count(viewer) == 3
    # when one is marked read on the screen
    first = Notification.objects.filter(user=viewer).order_by("pk").first()
    c = _client(viewer)
    response = c.post(f"/notifications/{first.pk}/read/")
    assert response.status_code == 302
    assert _nav_count(viewer) == 2
    # when one is opened: marked read and the browser goes to its link
    second = Notification.objects.filter(user=viewer, read_at__isnull=True).order_by("pk").first()
    response = c.post(f"/notifications/{second.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == second.link
    assert _nav_count(viewer) == 1
    # when all are marked read: no badge and "Mark all read" is gone
    c.post("/notifications/read-all/")
    assert _nav_count(viewer) == 0
    assert 'id="mark-all-read"' not in c.get("/notifications/").content.decode()


def test_only_unread_filter(world, ping_type, django_capture_on_commit_callbacks):
    viewer = world.users[VIEWER]
    ping(world.tenant, 1, [viewer])
    ping(world.tenant, 2, [viewer])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    notification_mark_read(
        actor=world.actor(VIEWER),
        notification_id=Notification.objects.get(title__startswith="Ping 1").pk,
    )
    html = _client(viewer).get("/notifications/?unread=1").content.decode()
    assert "Ping 2" in html and "Ping 1" not in html


def test_nobody_marks_someone_elses_notification(
    world, ping_type, django_capture_on_commit_callbacks
):
    ping(world.tenant, 1, [world.users[VIEWER]])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    theirs = Notification.objects.get()
    # another member of the tenant, and tenant B's owner, cannot mark it
    c = _client(world.users[OWNER])
    c.post(f"/notifications/{theirs.pk}/read/")
    _client(world.outsider).post(f"/notifications/{theirs.pk}/read/")
    assert notifications_mark_all_read(actor=world.actor(OWNER)) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert _nav_count(world.users[VIEWER]) == 1


# --- direct notices ---------------------------------------------------------------------------


def test_notify_admins_reaches_owner_and_admin_only(
    world, django_capture_on_commit_callbacks, mailoutbox
):
    _with_emails(world)
    with django_capture_on_commit_callbacks(execute=True):
        reached = notify_admins(
            tenant=world.tenant,
            kind=WEBHOOK_DISABLED,
            title="Webhook endpoint 4 was disabled",
            body="Deliveries failed for 24 hours.",
            link="/webhooks/4/",
        )
    assert reached == 2
    users = set(Notification.objects.values_list("user__username", flat=True))
    assert users == {"alpha-owner", "alpha-admin"}
    assert sorted(m.to[0] for m in mailoutbox) == ["admin@alpha.example", "owner@alpha.example"]
    assert _nav_count(world.users[S.Role.ADMIN]) == 1
    assert _nav_count(world.users[S.Role.BILLING_MANAGER]) == 0
    assert _nav_count(world.outsider) == 0


def test_an_admin_can_switch_the_disabled_endpoint_email_off(
    world, django_capture_on_commit_callbacks, mailoutbox
):
    _with_emails(world)
    notification_preference_set(
        actor=world.actor(S.Role.ADMIN), kind=WEBHOOK_DISABLED, inbox=True, email=False
    )
    with django_capture_on_commit_callbacks(execute=True):
        notify_admins(tenant=world.tenant, kind=WEBHOOK_DISABLED, title="Endpoint 1 disabled")
    assert [m.to for m in mailoutbox] == [["owner@alpha.example"]]
    assert Notification.objects.filter(user=world.users[S.Role.ADMIN]).count() == 1


def test_notify_users_skips_non_members(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reached = notify_users(
            tenant=world.tenant,
            user_ids=[world.users[VIEWER].pk, world.outsider.pk],
            kind="tests.adhoc",
            title="Something waits",
        )
    assert reached == 1
    assert list(Notification.objects.values_list("user_id", flat=True)) == [world.users[VIEWER].pk]


def test_an_email_failure_keeps_the_inbox_row(
    world, ping_type, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "tests.core.test_notifications.FailingBackend"
    _with_emails(world)
    ping(world.tenant, 1, [world.users[VIEWER]])
    _relay(world.tenant, django_capture_on_commit_callbacks)
    row = Notification.objects.get()
    assert row.emailed is False and row.read_at is None


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise OSError("mail server down")


# --- preferences --------------------------------------------------------------------------------


def test_preferences_list_kinds_with_recipients_and_the_admin_notice(world, ping_type):
    kinds = {p["kind"]: p for p in notification_preferences(world.actor(OWNER))}
    assert kinds[PING] == {"kind": PING, "label": PING_LABEL, "inbox": True, "email": True}
    assert WEBHOOK_DISABLED in kinds
    # the webhook notice reaches OWNER and ADMIN only, so only they are offered it
    viewer_kinds = [p["kind"] for p in notification_preferences(world.actor(VIEWER))]
    assert PING in viewer_kinds and WEBHOOK_DISABLED not in viewer_kinds


def test_preferences_screen_saves_the_checkboxes(world, ping_type):
    viewer = world.users[VIEWER]
    c = _client(viewer)
    html = c.get("/notifications/preferences/").content.decode()
    assert PING_LABEL in html
    assert f'name="inbox" value="{PING}" checked' in html
    # when the viewer unticks email for pings and saves
    response = c.post("/notifications/preferences/", {"inbox": [PING], "email": []})
    assert response.status_code == 302
    pref = NotificationPreference.objects.get(user=viewer, kind=PING)
    assert (pref.inbox, pref.email) == (True, False)
    html = c.get("/notifications/preferences/").content.decode()
    assert f'name="email" value="{PING}" checked' not in html
    assert f'name="inbox" value="{PING}" checked' in html


def test_unknown_kind_is_refused(world):
    from core.exceptions import DomainError

    with pytest.raises(DomainError) as exc:
        notification_preference_set(
            actor=world.actor(VIEWER), kind="billing.nothing", inbox=True, email=True
        )
    assert exc.value.code == "unknown_kind"
    assert not NotificationPreference.objects.exists()


def test_a_failing_recipients_function_does_not_stop_the_relay(
    world, ping_type, django_capture_on_commit_callbacks
):
    # given a type whose recipients() breaks, and a ping after it
    from core import events as E
    from core.events import EventType, event_emit, event_types_register

    def broken(event):
        raise RuntimeError("lookup failed")

    event_types_register(
        "tests",
        [
            EventType(
                name="tests.notify.broken",
                description="x",
                object_type="",
                sample={},
                recipients=broken,
            )
        ],
    )
    try:
        event_emit(tenant=world.tenant, type="tests.notify.broken", object_id=1, payload={})
        ping(world.tenant, 1, [world.users[VIEWER]])
        # when relayed / then both are passed on and the ping's recipient is notified
        assert _relay(world.tenant, django_capture_on_commit_callbacks) == 2
    finally:
        E._TYPES.pop("tests.notify.broken", None)
    assert list(Notification.objects.values_list("title", flat=True)) == ["Ping 1 waits for you"]
