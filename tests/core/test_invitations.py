"""People: invitations with a one-time link (emailed or shown once), accepting, password reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry, Invitation, TenantMembership
from core.selectors import memberships_of
from core.services import user_ensure

PASSWORD = "Tr1cky-horse-battery"


def _html(response) -> str:
    return response.content.decode()


def _invite_on_screen(world, role=S.Role.OPERATIONS, email="new.person@example.org", who=None):
    client = world.client(who or S.Role.ADMIN)
    data = {"form": "invite", "email": email, "role": role}
    return client.post("/tenant/members/", data, follow=True)


def _link(html: str) -> str:
    found = re.search(r'id="invitation-link">(http://testserver/invitations/[^/<]+/)<', html)
    assert found, "no invitation link on the page"
    return found.group(1).removeprefix("http://testserver")


# --- creating ---------------------------------------------------------------------------------


def test_invite_without_email_set_up_shows_the_link_once(world):
    # when an admin invites someone on the Members screen (no EMAIL_URL here)
    client = world.client(S.Role.ADMIN)
    data = {"form": "invite", "email": "new.person@example.org", "role": "OPERATIONS"}
    response = client.post("/tenant/members/", data)
    # then they are sent back to the Members page (a reload creates nothing twice)...
    assert response.status_code == 302 and response["Location"] == "/tenant/members/"
    # ...which shows the one-time link, once; nothing was emailed
    path = _link(_html(client.get("/tenant/members/")))
    assert 'id="invitation-link"' not in _html(client.get("/tenant/members/"))
    assert mail.outbox == []
    inv = Invitation.objects.get()
    assert (inv.email, inv.role, inv.emailed, inv.state) == (
        "new.person@example.org",
        "OPERATIONS",
        False,
        "PENDING",
    )
    # and only the token's hash is stored; the list shows the invitation without its link
    token = path.split("/")[2]
    assert token not in inv.token_hash
    again = _html(world.client(S.Role.ADMIN).get("/tenant/members/"))
    assert token not in again
    assert "new.person@example.org" in again and "Pending" in again
    # and it expires in 7 days, audited
    assert timedelta(days=6, hours=23) < inv.expires_at - timezone.now() <= timedelta(days=7)
    entry = AuditEntry.objects.filter(action="INVITATION_CREATED").get()
    assert entry.actor_label == "alpha-admin"
    assert entry.payload["role"] == "OPERATIONS"


def test_invite_with_email_set_up_sends_the_link(world, settings):
    settings.EMAIL_CONFIGURED = True
    response = _invite_on_screen(world)
    # then it is emailed, not shown
    assert response.redirect_chain == [("/tenant/members/", 302)]
    assert 'id="invitation-link"' not in _html(response)
    assert "Invitation emailed to new.person@example.org." in _html(response)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.org"]
    assert "Alpha Health" in message.subject
    assert re.search(r"http://testserver/invitations/[\w-]+/", message.body)
    assert Invitation.objects.get().emailed is True
    follow = _html(world.client(S.Role.ADMIN).get("/tenant/members/"))
    assert "(emailed)" in follow


def test_invite_refuses_a_bad_email_keeping_what_was_typed(world):
    response = _invite_on_screen(world, email="not-an-address")
    assert response.status_code == 400
    html = _html(response)
    assert "email: &#x27;not-an-address&#x27; is not an email address." in html
    assert 'value="not-an-address"' in html
    assert not Invitation.objects.exists()


def test_only_an_owner_invites_an_owner(world):
    response = _invite_on_screen(world, role=S.Role.OWNER, who=S.Role.ADMIN)
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    by_owner = _invite_on_screen(world, role=S.Role.OWNER, who=S.Role.OWNER)
    assert by_owner.status_code == 200 and 'id="invitation-link"' in _html(by_owner)


def test_api_invitation_create_returns_the_link_once(world):
    client = world.client(S.Role.OWNER)
    response = client.post("/api/tenant/invitations", {"role": "VIEWER"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "VIEWER" and body["state"] == "PENDING" and body["emailed"] is False
    assert body["email"] is None
    assert body["link"].startswith("http://testserver/invitations/")
    listed = client.get("/api/tenant/invitations").json()["results"]
    assert [i["id"] for i in listed] == [body["id"]]
    assert "link" not in listed[0]


def test_api_invitation_create_names_a_bad_role(world):
    response = world.client(S.Role.OWNER).post(
        "/api/tenant/invitations", {"role": "EMPEROR"}, format="json"
    )
    assert response.status_code == 400
    assert "role" in response.json()["error"]["details"]


# --- accepting --------------------------------------------------------------------------------


def test_accepting_creates_the_user_and_the_membership_with_the_role(world):
    path = _link(_html(_invite_on_screen(world, role=S.Role.OPERATIONS)))
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200
    assert "Join Alpha Health" in _html(page) and "Operations" in _html(page)
    # when the invitee chooses a username and password
    response = visitor.post(
        path, {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    )
    # then they are signed in on the tenant's dashboard, as OPERATIONS with its scopes
    assert response.status_code == 302 and response["Location"] == "/"
    home = _html(visitor.get("/"))
    assert "Signed in as <strong>newbie</strong>, Operations." in home
    membership = TenantMembership.objects.get(user__username="newbie")
    assert (membership.tenant, membership.role) == (world.tenant, "OPERATIONS")
    me = visitor.get("/api/me").json()
    assert set(me["scopes"]) == set(S.scopes_for_role(S.Role.OPERATIONS))
    assert Client().login(request=HttpRequest(), username="newbie", password=PASSWORD)
    # and it is audited in the tenant's chain, which still verifies
    entries = list(AuditEntry.objects.filter(tenant=world.tenant).order_by("seq"))
    assert [e.action for e in entries[-2:]] == ["INVITATION_ACCEPTED", "MEMBERSHIP_ADDED"]
    assert entries[-1].actor_label == "newbie"
    assert entries[-1].payload["role"] == "OPERATIONS"
    assert verify_chain(world.tenant).ok


def test_a_link_works_once(world):
    path = _link(_html(_invite_on_screen(world)))
    Client().post(path, {"username": "first", "password1": PASSWORD, "password2": PASSWORD})
    second = Client().post(
        path, {"username": "second", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert second.status_code == 409
    assert "already used" in _html(second)
    assert not TenantMembership.objects.filter(user__username="second").exists()


def test_an_expired_link_is_refused(world):
    path = _link(_html(_invite_on_screen(world)))
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(path)
    assert response.status_code == 409
    assert "expired" in _html(response)
    post = Client().post(path, {"username": "late", "password1": PASSWORD, "password2": PASSWORD})
    assert post.status_code == 409
    assert not TenantMembership.objects.filter(user__username="late").exists()


def test_a_withdrawn_link_is_refused(world):
    path = _link(_html(_invite_on_screen(world)))
    inv = Invitation.objects.get()
    response = world.client(S.Role.OWNER).post(
        "/tenant/members/", {"form": "revoke-invitation", "invitation": inv.pk}
    )
    assert response.status_code == 302
    assert Invitation.objects.get().state == "REVOKED"
    assert Client().get(path).status_code == 409
    assert AuditEntry.objects.filter(action="INVITATION_REVOKED").count() == 1


def test_an_unknown_link_is_404(db):
    response = Client().get("/invitations/nonsense-token/")
    assert response.status_code == 404
    assert "not valid" in _html(response)


def test_accepting_refuses_a_taken_username_and_a_weak_password(world):
    path = _link(_html(_invite_on_screen(world)))
    taken = Client().post(
        path, {"username": "alpha-viewer", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert taken.status_code == 400
    assert "&#x27;alpha-viewer&#x27; is taken" in _html(taken)
    assert 'value="alpha-viewer"' in _html(taken)
    weak = Client().post(path, {"username": "fresh", "password1": "123", "password2": "123"})
    assert weak.status_code == 400
    assert "too short" in _html(weak)
    differ = Client().post(path, {"username": "fresh", "password1": PASSWORD, "password2": "x"})
    assert "The two passwords differ." in _html(differ)
    # the link is still usable after these attempts
    assert Invitation.objects.get().state == "PENDING"


def test_a_signed_in_user_joins_with_their_account(world):
    # given a user of another tenant, signed in
    path = _link(_html(_invite_on_screen(world, role=S.Role.VIEWER)))
    outsider = world.client("outsider")
    assert "Join as beta-owner" in _html(outsider.get(path))
    response = outsider.post(path, {"as": "current"})
    assert response.status_code == 302
    # then they now belong to both tenants, alpha being the current one
    assert {m.tenant.slug for m in memberships_of(world.outsider)} == {"alpha", "beta"}
    assert "Signed in as <strong>beta-owner</strong>, Viewer." in _html(outsider.get("/"))


def test_invitation_screen_is_styled_like_sign_in(db):
    assert "card narrow" in _html(Client().get("/invitations/x/"))


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_by_email(db, settings):
    settings.PASSWORD_RESET_ENABLED = True
    user = user_ensure(username="forgetful", password="Old-pass-2026!", email="f@example.org")
    client = Client()
    assert "Forgot your password?" in _html(client.get("/login/"))
    page = client.get("/password-reset/")
    assert page.status_code == 200 and 'name="email"' in _html(page)
    sent = client.post("/password-reset/", {"email": "f@example.org"})
    assert sent.status_code == 302 and sent["Location"] == "/password-reset/sent/"
    assert "Check your email" in _html(client.get(sent["Location"]))
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/[^/]+/[^/\s]+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in _html(form)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "New-pass-2026!", "new_password2": "New-pass-2026!"},
    )
    assert done.status_code == 302
    assert "Password saved" in _html(client.get(done["Location"]))
    user.refresh_from_db()
    assert user.check_password("New-pass-2026!")


def test_password_reset_not_offered_without_email(db, settings):
    settings.PASSWORD_RESET_ENABLED = False
    assert "Forgot your password?" not in _html(Client().get("/login/"))
    assert Client().get("/password-reset/").status_code == 404


@pytest.mark.parametrize("url", ["/password-reset/sent/", "/password-reset/done/"])
def test_password_reset_pages_render(db, url):
    assert Client().get(url).status_code == 200
