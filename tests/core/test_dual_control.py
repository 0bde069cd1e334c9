"""Dual control on every entry point (issue 14 item 5): API, screen, admin and command refuse
self-approval and expired requests; the hourly job expires; every registered override action."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from core import scopes as S
from core import tasks
from core.models import AuditEntry, OverrideRequest
from core.overrides import _REGISTRY, override_perform
from core.services import tenant_policy_update
from tests.core.overrides_fixture import ACTION  # registers the test override action

ADMIN_LIST = "/admin/core/overriderequest/"


@pytest.fixture
def pending(world) -> OverrideRequest:
    """The billing manager's override under dual control, waiting for a second person."""
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    outcome = override_perform(
        actor=world.actor(S.Role.BILLING_MANAGER),
        action=ACTION,
        payload={"member": "M-9"},
        reason="payer confirmed by phone",
    )
    assert not outcome.executed
    return outcome.request


def _expire(request: OverrideRequest) -> None:
    OverrideRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


def _done() -> int:
    return AuditEntry.objects.filter(action="TEST_OVERRIDE_DONE").count()


def _status(request: OverrideRequest) -> str:
    request.refresh_from_db()
    return request.status


def _screen(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _staff(user):
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return _screen(user)


def _admin_post(client: Client, decision: str, request: OverrideRequest, note: str = ""):
    return client.post(
        ADMIN_LIST,
        {"action": decision, "_selected_action": [request.pk], "apply": "1", "note": note},
        follow=True,
    )


def _decide(*args) -> dict:
    out = StringIO()
    call_command("decide_override", *args, stdout=out)
    return json.loads(out.getvalue())


# --- self-approval is refused everywhere ------------------------------------------------------


def test_api_refuses_the_requester_approving_their_own_request(world, pending):
    response = world.client(S.Role.BILLING_MANAGER).post(
        f"/api/override-requests/{pending.pk}/approve", {"note": "me"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "second_person_required"
    assert (_status(pending), _done()) == ("PENDING", 0)


def test_api_second_person_approves_and_the_action_runs(world, pending):
    response = world.client(S.Role.ADMIN).post(
        f"/api/override-requests/{pending.pk}/approve", {"note": "checked"}, format="json"
    )
    assert response.status_code == 200
    assert (_status(pending), _done()) == ("APPROVED", 1)


def test_screen_refuses_the_requester_rejecting_their_own_request(world, pending):
    client = _screen(world.users[S.Role.BILLING_MANAGER])
    response = client.post(
        "/approvals/overrides/",
        {"request": pending.pk, "decision": "reject", "note": "never mind"},
        follow=True,
    )
    assert "second person must" in response.content.decode()
    assert _status(pending) == "PENDING"


def test_admin_refuses_the_requester_approving_their_own_request(world, pending):
    client = _staff(world.users[S.Role.BILLING_MANAGER])
    # given the action asks for a note first, naming the request
    ask = client.post(ADMIN_LIST, {"action": "approve", "_selected_action": [pending.pk]})
    assert ask.status_code == 200
    assert "flag member-month M-9" in ask.content.decode()
    assert _status(pending) == "PENDING"
    # when the requester confirms the approval
    response = _admin_post(client, "approve", pending, "mine")
    # then it is refused with the reason, and nothing ran
    html = response.content.decode()
    assert f"Request {pending.pk}: The person who requested an override cannot approve it" in html
    assert (_status(pending), _done()) == ("PENDING", 0)


def test_admin_second_person_approves_and_the_action_runs(world, pending):
    client = _staff(world.users[S.Role.ADMIN])
    response = _admin_post(client, "approve", pending, "looked at the EOB")
    assert f"Request {pending.pk} approved and carried out." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "APPROVED"
    assert (pending.decided_by, pending.decision_note) == (
        world.users[S.Role.ADMIN],
        "looked at the EOB",
    )
    done = AuditEntry.objects.get(action="TEST_OVERRIDE_DONE")
    assert (done.payload["requested_by"], done.payload["approved_by"]) == (
        "alpha-billing_manager",
        "alpha-admin",
    )


def test_admin_reject_needs_a_note(world, pending):
    client = _staff(world.users[S.Role.ADMIN])
    response = _admin_post(client, "reject", pending, "")
    assert f"Request {pending.pk}:" in response.content.decode()
    assert _status(pending) == "PENDING"
    response = _admin_post(client, "reject", pending, "no evidence")
    assert f"Request {pending.pk} rejected." in response.content.decode()
    assert _status(pending) == "REJECTED"


def test_command_refuses_the_requester_approving_their_own_request(world, pending):
    with pytest.raises(CommandError) as exc:
        _decide("--tenant", "alpha", "--request", str(pending.pk), "--user",
                "alpha-billing_manager", "--approve")  # fmt: skip
    assert "cannot approve it; a second person must" in str(exc.value)
    assert (_status(pending), _done()) == ("PENDING", 0)


def test_command_second_person_approves_and_prints_one_json_line(world, pending):
    out = _decide("--tenant", "alpha", "--request", str(pending.pk), "--user", "alpha-owner",
                  "--approve", "--note", "ok")  # fmt: skip
    assert out == {
        "request": pending.pk,
        "action": ACTION,
        "status": "APPROVED",
        "requested_by": "alpha-billing_manager",
        "decided_by": "alpha-owner",
        "result": {"flagged": "M-9", "approved_by": "alpha-owner"},
    }
    assert _done() == 1


def test_command_reject_with_a_note_and_refusals_of_scope_and_note(world, pending):
    with pytest.raises(CommandError, match="billing.override.create"):
        _decide("--tenant", "alpha", "--request", str(pending.pk), "--user", "alpha-viewer",
                "--approve")  # fmt: skip
    with pytest.raises(CommandError):
        _decide("--tenant", "alpha", "--request", str(pending.pk), "--user", "alpha-admin",
                "--reject")  # fmt: skip
    out = _decide("--tenant", "alpha", "--request", str(pending.pk), "--user", "alpha-admin",
                  "--reject", "--note", "no payer letter")  # fmt: skip
    assert (out["status"], out["decided_by"], out["result"]) == ("REJECTED", "alpha-admin", None)
    assert _done() == 0


def test_command_needs_one_decision(world, pending):
    with pytest.raises(CommandError):
        _decide("--tenant", "alpha", "--request", str(pending.pk), "--user", "alpha-admin")


# --- expiry on every entry point ----------------------------------------------------------------


def test_api_refuses_an_expired_request(world, pending):
    _expire(pending)
    response = world.client(S.Role.ADMIN).post(
        f"/api/override-requests/{pending.pk}/approve", {}, format="json"
    )
    assert response.status_code == 409
    assert "expired" in response.json()["error"]["message"]
    assert (_status(pending), _done()) == ("EXPIRED", 0)


def test_screen_refuses_an_expired_request(world, pending):
    _expire(pending)
    response = _screen(world.users[S.Role.ADMIN]).post(
        "/approvals/overrides/", {"request": pending.pk, "decision": "approve"}, follow=True
    )
    assert f"Override request {pending.pk} expired on" in response.content.decode()
    assert (_status(pending), _done()) == ("EXPIRED", 0)


def test_admin_refuses_an_expired_request(world, pending):
    _expire(pending)
    response = _admin_post(_staff(world.users[S.Role.ADMIN]), "approve", pending)
    assert f"Request {pending.pk}: Override request {pending.pk} expired on" in (
        response.content.decode()
    )
    assert (_status(pending), _done()) == ("EXPIRED", 0)


def test_command_refuses_an_expired_request(world, pending):
    _expire(pending)
    with pytest.raises(CommandError, match="expired on"):
        _decide("--tenant", "alpha", "--request", str(pending.pk), "--user", "alpha-admin",
                "--approve")  # fmt: skip
    assert (_status(pending), _done()) == ("EXPIRED", 0)


def test_requests_expire_after_the_tenants_ttl_of_72_hours(world, pending):
    age = pending.expires_at - pending.requested_at
    assert timedelta(hours=71, minutes=59) < age <= timedelta(hours=72, seconds=1)


def test_the_hourly_job_expires_overdue_requests_with_an_audit_entry(world, pending):
    from config.schedules import SCHEDULES

    # given the job is scheduled hourly
    assert any(s[1] == "core.tasks.expire_override_requests" for s in SCHEDULES)
    # and one request past its deadline
    _expire(pending)
    # when the job runs
    assert tasks.expire_override_requests() == 1
    # then the request is EXPIRED, by the system, in the trail
    assert _status(pending) == "EXPIRED"
    entry = AuditEntry.objects.get(action="OVERRIDE_EXPIRED")
    assert (entry.object_id, entry.actor_label) == (str(pending.pk), "system")
    assert tasks.expire_override_requests() == 0


# --- the registry ---------------------------------------------------------------------------------

SAMPLES = {  # a payload each known action reads (others get an empty one)
    "billing.member_month_override": {"member_id": 1, "payer_id": 1, "month": "2026-03-01"},
    "denials.remittance_claim_force_match": {"remittance_claim": 1, "claim": 1},
}


@pytest.mark.parametrize("name", sorted(_REGISTRY))
def test_every_registered_override_action_has_an_override_scope_and_a_description(db, name):
    action = _REGISTRY[name]
    assert action.name == name
    assert action.scope in S.OVERRIDE_SCOPES
    assert action.scope in S.SCOPE_LABELS
    text = action.describe(SAMPLES.get(name, {"member": "M-1"}))
    assert isinstance(text, str)
    assert text.strip(), f"{name} describes its requests with no text"


# --- the audit list's filters the override report links with ---------------------------------


def test_audit_list_filters_by_month_requester_and_payer(world):
    from core.actors import Actor
    from core.audit import audit_record

    def entry(role, requested_by, payer):
        actor = Actor.system_for(world.tenant) if role is None else world.actor(role)
        payload = {"payer": payer, "requested_by": requested_by}
        audit_record(
            tenant=world.tenant, actor=actor, action="MANUAL_FLIP", object_type="x", payload=payload
        )

    entry(S.Role.ADMIN, "alpha-operations", "ACME")  # approved by the admin, asked by operations
    entry(S.Role.OPERATIONS, None, "ZEN")  # done at once: no requester, the actor asked
    entry(S.Role.ADMIN, None, "ACME")
    client = world.client(S.Role.OWNER)
    month = f"{timezone.now():%Y-%m}"

    def seqs(query: str) -> int:
        html = client.get(f"/audit/?action=MANUAL_FLIP&{query}").content.decode()
        return html.split("<tbody>")[1].split("</tbody>")[0].count("<tr><td>")

    assert seqs(f"month={month}") == 3
    assert seqs("month=2001-01") == 0
    assert seqs("user=alpha-operations") == 2
    assert seqs("user=alpha-admin") == 1
    assert seqs("user=alpha-operations&payer=ACME") == 1
    bad = client.get("/audit/?month=2026-13")
    assert bad.status_code == 400
    assert "month:" in bad.content.decode()
