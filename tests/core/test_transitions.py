"""The transition helper and dual control (SPEC 2): override requests from filing to decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import scopes as S
from core.audit import verify_chain
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied, TransitionRefused
from core.models import AuditEntry, OverrideRequest
from core.overrides import (
    override_perform,
    override_request_approve,
    override_request_reject,
    override_requests_expire,
)
from core.services import tenant_policy_update
from core.transitions import allowed_transitions, state_reload, transition_apply
from tests.core.overrides_fixture import ACTION  # registers the test override action

PAYLOAD = {"member": "M-17", "month": "2026-03"}


# --- helpers ----------------------------------------------------------------------------------


def entries(tenant, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(tenant=tenant, action=action).order_by("seq"))


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def dual(world):
    """Tenant alpha with member-month overrides under dual control."""
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    return world


@pytest.fixture
def pending(dual) -> OverrideRequest:
    """An override filed by the billing manager, waiting for a second person."""
    outcome = override_perform(
        actor=dual.actor(S.Role.BILLING_MANAGER),
        action=ACTION,
        payload=PAYLOAD,
        reason="member confirmed by the payer",
    )
    return outcome.request


# --- without dual control ---------------------------------------------------------------------


def test_override_perform_runs_at_once_without_dual_control(world):
    # given a tenant with no scope under dual control
    actor = world.actor(S.Role.BILLING_MANAGER)
    # when a billing manager performs an override
    outcome = override_perform(actor=actor, action=ACTION, payload=PAYLOAD, reason="  payer ok  ")
    # then it executed now, and nothing waits for approval
    assert outcome.executed is True
    assert outcome.request is None
    assert outcome.result == {"flagged": "M-17", "approved_by": None}
    assert OverrideRequest.objects.count() == 0
    # and the audit trail records who did it and why, with nobody approving
    (done,) = entries(world.tenant, "TEST_OVERRIDE_DONE")
    assert done.actor_label == "alpha-billing_manager"
    assert done.reason == "payer ok"
    assert done.payload == {
        "payload": PAYLOAD,
        "requested_by": "alpha-billing_manager",
        "approved_by": None,
    }
    assert verify_chain(world.tenant).ok


@pytest.mark.parametrize("role", [S.Role.OPERATIONS, S.Role.VIEWER])
def test_override_perform_refuses_a_role_without_the_scope(world, role):
    with pytest.raises(ScopeDenied) as exc:
        override_perform(actor=world.actor(role), action=ACTION, payload=PAYLOAD, reason="x")
    assert exc.value.code == "permission_denied"
    assert S.BILLING_OVERRIDE_CREATE in exc.value.message
    assert entries(world.tenant, "TEST_OVERRIDE_DONE") == []


@pytest.mark.parametrize("under_dual_control", [False, True])
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_override_perform_refuses_an_override_without_a_reason(world, reason, under_dual_control):
    # given overrides with or without dual control
    if under_dual_control:
        tenant_policy_update(
            actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
        )
    # when an override is performed without a reason
    with pytest.raises(DomainError) as exc:
        override_perform(
            actor=world.actor(S.Role.ADMIN), action=ACTION, payload=PAYLOAD, reason=reason
        )
    # then it is refused, nothing ran and nothing was filed
    assert exc.value.code == "reason_required"
    assert "reason" in exc.value.message
    assert entries(world.tenant, "TEST_OVERRIDE_DONE") == []
    assert entries(world.tenant, "OVERRIDE_REQUESTED") == []
    assert OverrideRequest.objects.count() == 0


def test_override_perform_refuses_an_unknown_action(world):
    with pytest.raises(DomainError, match="Unknown override action 'no.such.action'"):
        override_perform(
            actor=world.actor(S.Role.OWNER), action="no.such.action", payload={}, reason="x"
        )


# --- filing a request under dual control ------------------------------------------------------


def test_override_perform_files_a_pending_request_under_dual_control(dual):
    # given member-month overrides under dual control
    actor = dual.actor(S.Role.BILLING_MANAGER)
    before = timezone.now()
    # when a billing manager performs an override
    outcome = override_perform(actor=actor, action=ACTION, payload=PAYLOAD, reason="payer ok")
    # then nothing ran yet: a pending request waits for a second person, for 72 hours
    assert outcome.executed is False
    assert outcome.result is None
    request = OverrideRequest.objects.get(pk=outcome.request.pk)
    assert request.status == OverrideRequest.Status.PENDING
    assert request.tenant == dual.tenant
    assert (request.action, request.scope) == (ACTION, S.BILLING_OVERRIDE_CREATE)
    assert request.payload == PAYLOAD
    assert request.summary == "flag member-month M-17"
    assert request.requested_by == dual.users[S.Role.BILLING_MANAGER]
    assert request.result is None
    expected = before + timedelta(hours=72)
    assert expected <= request.expires_at <= timezone.now() + timedelta(hours=72)
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []
    # and the filing is in the audit trail
    (filed,) = entries(dual.tenant, "OVERRIDE_REQUESTED")
    assert (filed.object_type, filed.object_id) == ("core.OverrideRequest", str(request.pk))
    assert filed.reason == "payer ok"
    assert filed.payload == {
        "action": ACTION,
        "scope": S.BILLING_OVERRIDE_CREATE,
        "request": PAYLOAD,
    }


def test_override_perform_under_dual_control_of_another_scope_runs_at_once(world, monkeypatch):
    # given an app offering COB overrides, and only those under dual control
    monkeypatch.setitem(S._OFFERED, "denials", (S.BILLING_COB_OVERRIDE,))
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_COB_OVERRIDE]
    )
    # when a member-month override is performed, it is not held back
    outcome = override_perform(
        actor=world.actor(S.Role.ADMIN), action=ACTION, payload=PAYLOAD, reason="ok"
    )
    assert outcome.executed is True
    assert OverrideRequest.objects.count() == 0


# --- approving --------------------------------------------------------------------------------


def test_override_request_approve_refuses_the_requester(dual, pending):
    # when the person who filed the request approves it
    with pytest.raises(ScopeDenied) as exc:
        override_request_approve(
            actor=dual.actor(S.Role.BILLING_MANAGER), request_id=pending.pk, note="me"
        )
    # then it is refused: a second person must approve
    assert exc.value.code == "second_person_required"
    assert "second person" in exc.value.message
    pending.refresh_from_db()
    assert pending.status == OverrideRequest.Status.PENDING
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []


@pytest.mark.parametrize("role", [S.Role.OPERATIONS, S.Role.VIEWER])
def test_override_request_approve_refuses_a_role_without_the_scope(dual, pending, role):
    with pytest.raises(ScopeDenied) as exc:
        override_request_approve(actor=dual.actor(role), request_id=pending.pk)
    assert exc.value.code == "permission_denied"
    assert exc.value.details == {"scope": S.BILLING_OVERRIDE_CREATE}
    pending.refresh_from_db()
    assert pending.status == OverrideRequest.Status.PENDING
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []


def test_override_request_approve_by_a_second_person_executes_the_action(dual, pending):
    # when an admin (holding the same scope) approves the manager's request
    request = override_request_approve(
        actor=dual.actor(S.Role.ADMIN), request_id=pending.pk, note="checked"
    )
    # then it is approved, decided by the admin, and the action's result is stored
    request = OverrideRequest.objects.get(pk=pending.pk)
    assert request.status == OverrideRequest.Status.APPROVED
    assert request.decided_by == dual.users[S.Role.ADMIN]
    assert request.decided_at is not None
    assert request.decision_note == "checked"
    assert request.result == {"flagged": "M-17", "approved_by": "alpha-admin"}
    # and the trail shows the approval and then the action, naming both people
    (approved,) = entries(dual.tenant, "OVERRIDE_APPROVED")
    assert approved.actor_label == "alpha-admin"
    assert approved.reason == "checked"
    assert approved.payload == {"from": "PENDING", "to": "APPROVED"}
    assert approved.object_id == str(request.pk)
    (done,) = entries(dual.tenant, "TEST_OVERRIDE_DONE")
    assert done.seq == approved.seq + 1
    assert done.reason == "member confirmed by the payer"
    assert done.payload == {
        "payload": PAYLOAD,
        "requested_by": "alpha-billing_manager",
        "approved_by": "alpha-admin",
    }
    assert verify_chain(dual.tenant).ok


def test_override_request_approve_twice_is_refused(dual, pending):
    override_request_approve(actor=dual.actor(S.Role.ADMIN), request_id=pending.pk)
    with pytest.raises(TransitionRefused) as exc:
        override_request_approve(actor=dual.actor(S.Role.OWNER), request_id=pending.pk)
    assert "it is APPROVED" in exc.value.message
    assert len(entries(dual.tenant, "TEST_OVERRIDE_DONE")) == 1


def test_override_request_approve_answers_not_found_for_another_tenants_request(dual, pending):
    from core.actors import Actor

    outsider = Actor(tenant=dual.other_tenant, user=dual.outsider)
    with pytest.raises(NotFound):
        override_request_approve(actor=outsider, request_id=pending.pk)
    pending.refresh_from_db()
    assert pending.status == OverrideRequest.Status.PENDING


# --- rejecting --------------------------------------------------------------------------------


@pytest.mark.parametrize("note", ["", "   "])
def test_override_request_reject_needs_a_note(dual, pending, note):
    with pytest.raises(DomainError) as exc:
        override_request_reject(actor=dual.actor(S.Role.ADMIN), request_id=pending.pk, note=note)
    assert exc.value.code == "reason_required"
    pending.refresh_from_db()
    assert pending.status == OverrideRequest.Status.PENDING
    assert entries(dual.tenant, "OVERRIDE_REJECTED") == []


def test_override_request_reject_refuses_the_requester(dual, pending):
    with pytest.raises(ScopeDenied) as exc:
        override_request_reject(
            actor=dual.actor(S.Role.BILLING_MANAGER), request_id=pending.pk, note="never mind"
        )
    assert exc.value.code == "second_person_required"


def test_override_request_reject_with_a_note_closes_the_request(dual, pending):
    # when a second person rejects it with a note
    override_request_reject(
        actor=dual.actor(S.Role.OWNER), request_id=pending.pk, note="no payer confirmation"
    )
    # then it is rejected, nothing ran, and the trail names the rejecter and the note
    request = OverrideRequest.objects.get(pk=pending.pk)
    assert request.status == OverrideRequest.Status.REJECTED
    assert request.decided_by == dual.users[S.Role.OWNER]
    assert request.decision_note == "no payer confirmation"
    assert request.result is None
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []
    (rejected,) = entries(dual.tenant, "OVERRIDE_REJECTED")
    assert (rejected.actor_label, rejected.reason) == ("alpha-owner", "no payer confirmation")
    assert rejected.payload == {"from": "PENDING", "to": "REJECTED"}


def test_override_request_approve_of_a_rejected_request_is_refused(dual, pending):
    # given a rejected request
    override_request_reject(actor=dual.actor(S.Role.OWNER), request_id=pending.pk, note="no")
    # when another person tries to approve it
    with pytest.raises(TransitionRefused) as exc:
        override_request_approve(actor=dual.actor(S.Role.ADMIN), request_id=pending.pk)
    # then the refusal names the current state and that no transition is left
    assert exc.value.code == "transition_not_allowed"
    assert exc.value.message == (
        f"Cannot approve override request {pending.pk}: it is REJECTED; allowed from here: none."
    )
    assert exc.value.details == {"current": "REJECTED", "allowed": []}
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.REJECTED
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []


# --- expiry -----------------------------------------------------------------------------------


def past_deadline(request: OverrideRequest) -> None:
    OverrideRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


def test_override_request_approve_after_the_deadline_is_refused(dual, pending):
    # given a request past its deadline
    past_deadline(pending)
    # when a second person approves it
    with pytest.raises(Conflict) as exc:
        override_request_approve(actor=dual.actor(S.Role.ADMIN), request_id=pending.pk)
    # then it is refused as expired, nothing ran, and the request is closed as EXPIRED
    assert exc.value.code == "conflict"
    assert "expired" in exc.value.message
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []
    assert entries(dual.tenant, "OVERRIDE_APPROVED") == []
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.EXPIRED


def test_override_requests_expire_closes_only_requests_past_their_deadline(dual, pending):
    # given one request past its deadline and one still open
    fresh = override_perform(
        actor=dual.actor(S.Role.ADMIN), action=ACTION, payload={"member": "M-2"}, reason="r"
    ).request
    past_deadline(pending)
    # when the hourly job runs
    assert override_requests_expire() == 1
    # then only the overdue one is EXPIRED, by the system, in the trail
    pending.refresh_from_db()
    fresh.refresh_from_db()
    assert pending.status == OverrideRequest.Status.EXPIRED
    assert pending.decided_at is not None
    assert fresh.status == OverrideRequest.Status.PENDING
    (expired,) = entries(dual.tenant, "OVERRIDE_EXPIRED")
    assert expired.object_id == str(pending.pk)
    assert expired.actor_label == "system"
    assert expired.payload == {"from": "PENDING", "to": "EXPIRED"}
    # and running it again finds nothing more to do
    assert override_requests_expire() == 0
    assert len(entries(dual.tenant, "OVERRIDE_EXPIRED")) == 1


def test_override_requests_expire_leaves_requests_within_their_deadline(dual, pending):
    assert override_requests_expire(tenant=dual.tenant) == 0
    pending.refresh_from_db()
    assert pending.status == OverrideRequest.Status.PENDING


# --- transition_apply directly ----------------------------------------------------------------


def test_transition_apply_moves_the_state_and_audits_under_the_default_action_name(dual, pending):
    instance = transition_apply(
        actor=dual.actor(S.Role.ADMIN),
        model=OverrideRequest,
        pk=pending.pk,
        name="reject",
        scope=S.BILLING_OVERRIDE_CREATE,
        reason="duplicate",
        payload={"extra": 1},
        kwargs={"by": dual.users[S.Role.ADMIN], "note": "duplicate"},
    )
    assert instance.status == OverrideRequest.Status.REJECTED
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.REJECTED
    (entry,) = entries(dual.tenant, "OverrideRequest.reject")
    assert entry.payload == {"from": "PENDING", "to": "REJECTED", "extra": 1}
    assert entry.reason == "duplicate"


def test_transition_apply_checks_the_scope_before_anything_else(dual, pending):
    with pytest.raises(ScopeDenied):
        transition_apply(
            actor=dual.actor(S.Role.VIEWER),
            model=OverrideRequest,
            pk=pending.pk,
            name="reject",
            scope=S.BILLING_OVERRIDE_CREATE,
            kwargs={"by": dual.users[S.Role.VIEWER]},
        )
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


def test_transition_apply_answers_not_found_across_tenants(dual, pending):
    from core.actors import Actor

    with pytest.raises(NotFound, match=f"Override request {pending.pk} does not exist"):
        transition_apply(
            actor=Actor.system_for(dual.other_tenant),
            model=OverrideRequest,
            pk=pending.pk,
            name="reject",
            scope=S.BILLING_OVERRIDE_CREATE,
            kwargs={"by": dual.outsider},
        )
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


def test_transition_apply_refuses_what_is_not_a_transition(dual, pending):
    with pytest.raises(ValueError, match="is not a transition"):
        transition_apply(
            actor=dual.actor(S.Role.ADMIN),
            model=OverrideRequest,
            pk=pending.pk,
            name="is_expired",
            scope=S.BILLING_OVERRIDE_CREATE,
        )


def test_transition_apply_refuses_a_missing_reason_when_required(dual, pending):
    with pytest.raises(DomainError) as exc:
        transition_apply(
            actor=dual.actor(S.Role.ADMIN),
            model=OverrideRequest,
            pk=pending.pk,
            name="reject",
            scope=S.BILLING_OVERRIDE_CREATE,
            reason=" ",
            reason_required=True,
            kwargs={"by": dual.users[S.Role.ADMIN]},
        )
    assert exc.value.code == "reason_required"
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


def test_transition_apply_lists_the_transitions_allowed_from_the_current_state(dual, pending):
    # a fresh request may be approved or rejected, not expired (its deadline is ahead)
    assert allowed_transitions(pending, "status") == ["approve", "reject"]
    with pytest.raises(TransitionRefused) as exc:
        transition_apply(
            actor=dual.actor(S.Role.ADMIN),
            model=OverrideRequest,
            pk=pending.pk,
            name="expire",
            scope=S.BILLING_OVERRIDE_CREATE,
        )
    assert exc.value.details == {"current": "PENDING", "allowed": ["approve", "reject"]}
    assert "allowed from here: approve, reject" in exc.value.message


# --- API --------------------------------------------------------------------------------------


def approve_url(pk) -> str:
    return f"/api/override-requests/{pk}/approve"


def reject_url(pk) -> str:
    return f"/api/override-requests/{pk}/reject"


def test_api_override_approve_by_a_second_person_answers_200(dual, pending):
    response = dual.client(S.Role.ADMIN).post(
        approve_url(pending.pk), {"note": "checked"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "APPROVED"
    assert body["decided_by"] == "alpha-admin"
    assert body["requested_by"] == "alpha-billing_manager"
    assert body["result"] == {"flagged": "M-17", "approved_by": "alpha-admin"}
    assert len(entries(dual.tenant, "TEST_OVERRIDE_DONE")) == 1


def test_api_override_approve_by_the_requester_answers_403(dual, pending):
    response = dual.client(S.Role.BILLING_MANAGER).post(
        approve_url(pending.pk), {"note": "me"}, format="json"
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "second_person_required"
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


@pytest.mark.parametrize("role", [S.Role.OPERATIONS, S.Role.VIEWER])
def test_api_override_approve_without_the_scope_answers_403(dual, pending, role):
    response = dual.client(role).post(approve_url(pending.pk), {}, format="json")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied"
    assert error["details"] == {"scope": S.BILLING_OVERRIDE_CREATE}
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


def test_api_override_approve_of_another_tenants_request_answers_404(dual, pending):
    response = dual.client("outsider").post(approve_url(pending.pk), {}, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    missing = dual.client(S.Role.ADMIN).post(approve_url(pending.pk + 1000), {}, format="json")
    assert missing.status_code == 404
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


def test_api_override_approve_of_a_rejected_request_answers_409(dual, pending):
    override_request_reject(actor=dual.actor(S.Role.OWNER), request_id=pending.pk, note="no")
    response = dual.client(S.Role.ADMIN).post(approve_url(pending.pk), {}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "transition_not_allowed"
    assert "it is REJECTED" in error["message"]
    assert error["details"] == {"current": "REJECTED", "allowed": []}


def test_api_override_approve_after_the_deadline_answers_409(dual, pending):
    past_deadline(pending)
    response = dual.client(S.Role.ADMIN).post(approve_url(pending.pk), {}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert "expired" in error["message"]
    assert entries(dual.tenant, "TEST_OVERRIDE_DONE") == []


def test_api_override_reject_without_a_note_answers_400(dual, pending):
    response = dual.client(S.Role.ADMIN).post(reject_url(pending.pk), {}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "reason_required"
    assert OverrideRequest.objects.get(pk=pending.pk).status == OverrideRequest.Status.PENDING


def test_api_override_reject_with_a_note_answers_200(dual, pending):
    response = dual.client(S.Role.OWNER).post(
        reject_url(pending.pk), {"note": "no payer confirmation"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decision_note"]) == ("REJECTED", "no payer confirmation")
    again = dual.client(S.Role.ADMIN).post(reject_url(pending.pk), {"note": "x"}, format="json")
    assert again.status_code == 409
    assert error_of(again)["code"] == "transition_not_allowed"


def test_api_override_reject_by_the_requester_answers_403(dual, pending):
    response = dual.client(S.Role.BILLING_MANAGER).post(
        reject_url(pending.pk), {"note": "withdrawn"}, format="json"
    )
    assert response.status_code == 403
    assert error_of(response)["code"] == "second_person_required"


def test_api_override_list_shows_the_pending_queue_to_those_who_may_decide(dual, pending):
    # an admin (holding the scope) sees the pending request in the queue
    response = dual.client(S.Role.ADMIN).get("/api/override-requests?status=PENDING")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["id"], r["status"], r["summary"]) for r in rows] == [
        (pending.pk, "PENDING", "flag member-month M-17")
    ]
    # a viewer, who could not decide on it, does not
    viewer = dual.client(S.Role.VIEWER).get("/api/override-requests?status=PENDING")
    assert viewer.json()["results"] == []
    # and once decided it leaves the pending queue
    override_request_reject(actor=dual.actor(S.Role.OWNER), request_id=pending.pk, note="no")
    after = dual.client(S.Role.ADMIN).get("/api/override-requests?status=PENDING").json()
    assert after["results"] == []


def test_state_reload_reads_the_new_state_without_lifting_the_fields_protection(dual, pending):
    # given a request object read while it was PENDING, rejected since through another object
    stale = OverrideRequest.objects.get(pk=pending.pk)
    override_request_reject(actor=dual.actor(S.Role.OWNER), request_id=pending.pk, note="no")
    field = OverrideRequest._meta.get_field("status")
    seen: list[bool] = []
    original = OverrideRequest._default_manager.get

    def spy(*args, **kwargs):  # what another thread would see while the row is read
        seen.append(field.protected)
        return original(*args, **kwargs)

    OverrideRequest._default_manager.get = spy
    try:
        # when it is reloaded in place
        assert state_reload(stale) is stale
    finally:
        del OverrideRequest._default_manager.get
    # then it holds the new state, and the field stayed protected the whole time (django-fsm's
    # refresh_from_db lifts it on the shared field object, which races between threads)
    assert stale.status == OverrideRequest.Status.REJECTED
    assert seen == [True] and field.protected
    # and a later transition on the reloaded object sees REJECTED as its current state
    assert allowed_transitions(stale, "status") == []
