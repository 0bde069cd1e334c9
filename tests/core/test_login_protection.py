"""Sign-in protection (issue 11): lockout per username and per address, its audit entries, an
admin's unlock, rate limits on sign-in and token endpoints, idle and absolute session ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from core import scopes as S
from core.lockout import ACTION_LOCKED_OUT, ACTION_UNLOCKED
from core.models import AuditEntry, TenantMembership
from core.sessions import SESSION_SIGNED_IN_AT
from tests.fixtures import add_user

PASSWORD = "correct-horse-battery-9"
LIMIT = 5


@pytest.fixture
def viewer(world):
    user = world.users[S.Role.VIEWER]
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def _membership(world, user) -> TenantMembership:
    return TenantMembership.objects.get(tenant=world.tenant, user=user)


def _lock(username: str, address: str = "192.0.2.10") -> None:
    """Lock a username as LIMIT failed sign-ins from one address would."""
    AccessAttempt.objects.update_or_create(
        username=username,
        ip_address=address,
        user_agent="",
        defaults={
            "failures_since_start": LIMIT,
            "get_data": "",
            "post_data": "",
            "http_accept": "",
            "path_info": "/login/",
        },
    )


def _assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code
    assert error["message"]
    return error


# --- lockout per username and per address -------------------------------------------------------


def test_sign_in_locks_the_username_after_the_failure_limit(world, viewer):
    # given a client that mistypes the viewer's password one time short of the limit
    client = Client()
    for _ in range(LIMIT - 1):
        response = _sign_in(client, viewer.username, "wrong")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    # when the next attempt fails too
    response = _sign_in(client, viewer.username, "wrong")
    # then the lockout page answers, saying until when and whom to ask, without a stack trace
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in temporarily locked" in page
    assert "ask an admin" in page
    assert "Traceback" not in page
    # and the right password is refused while the lock holds
    response = _sign_in(client, viewer.username, PASSWORD)
    assert response.status_code == 429
    assert client.get("/").status_code == 302  # still signed out
    # and one audit entry names the account and the address, however many attempts were refused
    _sign_in(client, viewer.username, "wrong")
    entries = AuditEntry.objects.filter(tenant=world.tenant, action=ACTION_LOCKED_OUT)
    assert entries.count() == 1
    payload = entries.get().payload
    assert payload["user"] == viewer.username
    assert payload["address"] == "127.0.0.1"
    assert payload["locked_until"]
    # and no other tenant's trail hears of it
    assert not AuditEntry.objects.filter(tenant=world.other_tenant, action=ACTION_LOCKED_OUT)


def test_lock_lifts_after_the_cool_off(world, viewer, monkeypatch, settings):
    # given a locked-out viewer
    client = Client()
    for _ in range(LIMIT):
        _sign_in(client, viewer.username, "wrong")
    assert _sign_in(client, viewer.username, PASSWORD).status_code == 429
    # when the cool-off has passed
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)
    monkeypatch.setattr("axes.attempts.now", lambda: later)
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: later)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    # then the right password signs in
    response = _sign_in(client, viewer.username, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_successful_sign_in_forgets_earlier_failures(world, viewer):
    # given a viewer who mistyped one time short of the limit, then signed in
    client = Client()
    for _ in range(LIMIT - 1):
        _sign_in(client, viewer.username, "wrong")
    assert _sign_in(client, viewer.username, PASSWORD).status_code == 302
    # when they mistype again, one time short of the limit
    other = Client()
    for _ in range(LIMIT - 1):
        _sign_in(other, viewer.username, "wrong")
    # then they still sign in: the count started again
    assert _sign_in(other, viewer.username, PASSWORD).status_code == 302
    assert not AuditEntry.objects.filter(action=ACTION_LOCKED_OUT).exists()


def test_address_is_locked_across_usernames(world, viewer):
    # given an address that tried the limit of different usernames, none of them the viewer's
    prober = Client(REMOTE_ADDR="198.51.100.7")
    for i in range(LIMIT):
        response = _sign_in(prober, f"guess-{i}", "wrong")
    assert response.status_code == 429
    # when the viewer signs in from that address with the right password
    response = _sign_in(prober, viewer.username, PASSWORD)
    # then the address is locked out
    assert response.status_code == 429
    assert "Sign-in temporarily locked" in response.content.decode()
    # and the viewer signs in from another address
    assert (
        _sign_in(Client(REMOTE_ADDR="198.51.100.8"), viewer.username, PASSWORD).status_code == 302
    )


# --- seen and lifted by an admin ---------------------------------------------------------------


def test_admin_sees_the_lock_on_the_members_screen_and_unlocks(world, viewer):
    # given a viewer locked out by failed sign-ins
    for _ in range(LIMIT):
        _sign_in(Client(), viewer.username, "wrong")
    admin_client = world.client(S.Role.ADMIN)
    # when an admin opens the members screen
    page = admin_client.get("/tenant/members/").content.decode()
    # then the viewer's row says until when, with a confirmed unlock action
    assert "Locked out until" in page
    assert 'data-confirm="Unlock alpha-viewer' in page
    # when the admin unlocks the viewer
    membership = _membership(world, viewer)
    response = admin_client.post(
        "/tenant/members/", {"form": "unlock", "membership": membership.pk}
    )
    # then the viewer signs in again, and the screen shows no lock
    assert response.status_code == 302
    assert _sign_in(Client(), viewer.username, PASSWORD).status_code == 302
    assert "Locked out until" not in admin_client.get("/tenant/members/").content.decode()
    # and the unlock is audited with who did it
    entry = AuditEntry.objects.get(tenant=world.tenant, action=ACTION_UNLOCKED)
    assert entry.actor_id == world.users[S.Role.ADMIN].pk
    assert entry.payload["user"] == viewer.username
    assert entry.object_id == str(membership.pk)


@pytest.mark.parametrize("role", [S.Role.BILLING_MANAGER, S.Role.OPERATIONS, S.Role.VIEWER])
def test_only_tenant_managers_may_unlock(world, role):
    # given another member, locked out (signing in as a member clears that member's failures)
    locked = add_user(world.tenant, "alpha-locked", S.Role.VIEWER)
    locked.set_password(PASSWORD)
    locked.save()
    _lock(locked.username)
    membership = _membership(world, locked)
    client = world.client(role)
    # when a member without tenant.manage tries to unlock, on the screen and in the API
    screen = client.post("/tenant/members/", {"form": "unlock", "membership": membership.pk})
    api = client.post(f"/api/tenant/members/{membership.pk}/unlock")
    # then both are refused and the lock holds
    assert screen.status_code == 403
    _assert_envelope(api, 403, "permission_denied")
    assert _sign_in(Client(), locked.username, PASSWORD).status_code == 429
    assert not AuditEntry.objects.filter(action=ACTION_UNLOCKED).exists()


def test_api_lists_the_lock_and_unlocks_once(world, viewer):
    # given a locked-out viewer and an owner in the API
    _lock(viewer.username)
    membership = _membership(world, viewer)
    client = world.client(S.Role.OWNER)
    # when the owner lists the members
    rows = {r["user"]: r for r in client.get("/api/tenant/members").json()["results"]}
    # then the viewer's row says until when; the others are null
    assert rows[viewer.username]["locked_until"]
    assert rows["alpha-owner"]["locked_until"] is None
    # when the owner unlocks the viewer
    response = client.post(f"/api/tenant/members/{membership.pk}/unlock")
    # then the member comes back without a lock, and a second unlock is a conflict
    assert response.status_code == 200, response.content
    assert response.json()["locked_until"] is None
    _assert_envelope(client.post(f"/api/tenant/members/{membership.pk}/unlock"), 409, "conflict")
    assert AuditEntry.objects.filter(tenant=world.tenant, action=ACTION_UNLOCKED).count() == 1
    assert _sign_in(Client(), viewer.username, PASSWORD).status_code == 302


def test_another_tenants_admin_cannot_unlock(world, viewer):
    # given a locked-out viewer of tenant A
    _lock(viewer.username)
    membership = _membership(world, viewer)
    # when tenant B's owner names that membership
    response = world.client("outsider").post(f"/api/tenant/members/{membership.pk}/unlock")
    # then it does not exist for them, and the lock holds
    _assert_envelope(response, 404, "not_found")
    assert _sign_in(Client(), viewer.username, PASSWORD).status_code == 429


# --- rate limits ------------------------------------------------------------------------------


def test_token_endpoints_answer_429_in_the_envelope(world, settings):
    # given a rate of three calls a minute on the token endpoints
    settings.API_TOKEN_RATE = "3/minute"
    client = world.client(S.Role.OWNER)
    body = {"name": "loader", "scopes": [S.BILLING_RUN_VIEW]}
    for _ in range(3):
        assert client.post("/api/tokens", body, format="json").status_code == 201
    # when a fourth call comes within the minute
    response = client.post("/api/tokens", body, format="json")
    # then it is refused in the error envelope with when to retry, and no token is made
    _assert_envelope(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0
    assert client.get("/api/tokens").status_code == 429
    # and another user keeps their own allowance
    other = world.client(S.Role.ADMIN)
    assert other.post("/api/tokens", body, format="json").status_code == 201


def test_sign_in_posts_are_rate_limited_per_address(world, viewer, settings):
    # given a rate of three sign-in submissions a minute
    settings.LOGIN_RATE = "3/minute"
    client = Client(REMOTE_ADDR="203.0.113.5")
    for i in range(3):
        _sign_in(client, f"someone-{i}", "wrong")
    # when a fourth comes from that address, even with the right password
    response = _sign_in(client, viewer.username, PASSWORD)
    # then it is refused before any password check, saying to wait
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts from your address" in response.content.decode()
    assert not AccessAttempt.objects.filter(username=viewer.username).exists()
    # and the sign-in page itself still opens, and other addresses still sign in
    assert client.get("/login/").status_code == 200
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.6"), viewer.username, PASSWORD).status_code == 302


# --- session ends -----------------------------------------------------------------------------


def _at(monkeypatch, moment):
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)


def test_session_ends_after_the_idle_timeout(world, viewer, monkeypatch, settings):
    # given a signed-in viewer
    client = Client()
    assert _sign_in(client, viewer.username, PASSWORD).status_code == 302
    start = timezone.now()
    idle = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS)
    # when they come back a little before the idle timeout, twice
    _at(monkeypatch, start + idle - timedelta(minutes=1))
    assert client.get("/").status_code == 200
    _at(monkeypatch, start + 2 * idle - timedelta(minutes=2))
    # then each request kept the session alive
    assert client.get("/").status_code == 200
    # when they come back after a full idle timeout
    _at(monkeypatch, start + 3 * idle)
    response = client.get("/")
    # then they are sent to sign in again
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_session_ends_after_the_absolute_lifetime(world, viewer, monkeypatch, settings):
    # given a viewer signed in who keeps working
    client = Client()
    assert _sign_in(client, viewer.username, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    start = timezone.now()
    lifetime = timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME_SECONDS)
    step = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS) - timedelta(minutes=1)
    moment = start
    while moment + step < start + lifetime - timedelta(minutes=1):
        moment += step
        _at(monkeypatch, moment)
        assert client.get("/").status_code == 200, moment - start
    # when they are still active once the lifetime since sign-in is over
    _at(monkeypatch, start + lifetime + timedelta(seconds=1))
    response = client.get("/")
    # then the session is over and they sign in again
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")
    assert client.get("/").status_code == 302
    assert "sign in again" in client.get("/login/").content.decode()


def test_session_signed_in_time_is_kept_in_the_session(world, viewer):
    # given a signed-in viewer whose session says it began past the absolute lifetime
    client = Client()
    _sign_in(client, viewer.username, PASSWORD)
    client.get("/")
    session = client.session
    assert session[SESSION_SIGNED_IN_AT]
    session[SESSION_SIGNED_IN_AT] -= 13 * 3600
    session.save()
    # when they open a page
    response = client.get("/")
    # then they are signed out
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


# --- the address behind a proxy ---------------------------------------------------------------


def test_behind_a_proxy_each_client_address_is_locked_on_its_own(world, viewer, settings):
    # given one trusted proxy in front, through which every request arrives
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    prober = Client(**proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")  # first entry forged
    # when one client behind it fails the limit with different usernames
    for i in range(LIMIT):
        _sign_in(prober, f"guess-{i}", "wrong")
    # then that client's address is locked, whatever it forges in front
    assert _sign_in(prober, viewer.username, PASSWORD).status_code == 429
    assert AccessAttempt.objects.filter(ip_address="198.51.100.7").exists()
    # and another client behind the same proxy signs in
    other = Client(**proxy, HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert _sign_in(other, viewer.username, PASSWORD).status_code == 302
