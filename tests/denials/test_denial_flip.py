"""Manual flip and dual control (issue 14 items 2, 5): every (state, target) pair GENERATED from
the state machine; a flip takes the move without its money side effect and audits MANUAL_FLIP;
the system's moves are never flippable; reopen and flip wait for a second person under dual
control, self-approval is refused, requests expire after 72 h."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import scopes as S
from core.exceptions import Conflict, DomainError, ScopeDenied, TransitionRefused
from core.models import AuditEntry, OverrideRequest, TenantPolicy
from core.overrides import override_request_approve, override_requests_expire
from denials.models import Denial, PaymentApplication
from denials.services.denial_work import (
    FLIP_REASONS,
    denial_flip,
    denial_reopen,
    denial_write_off,
)
from denials.transitions_ref import denial_moves
from tests.denials.flow_builders import posted, set_status
from tests.denials.test_posting import amounts

STATES = Denial.Status.values
FLIPS = {
    (row["state"], m["to"]): m["transition"]
    for row in denial_moves()
    for m in row["moves"]
    if m["flippable"]
}
SYSTEM = {
    (row["state"], m["to"]): m["transition"]
    for row in denial_moves()
    for m in row["moves"]
    if not m["flippable"]
}
PAIRS = [(s, t) for s in STATES for t in STATES]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _dual_control(world):
    TenantPolicy.objects.update_or_create(
        tenant=world.tenant, defaults={"dual_control_scopes": [S.BILLING_DENIAL_WRITE]}
    )


@pytest.mark.parametrize(("state", "to"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_every_flip_from_every_state(world, state, to):
    sample = posted(world)
    denial = set_status(sample["denied"], state)
    claim = sample["claims"]["denied"]
    balance = amounts(claim)["balance"]
    apps = PaymentApplication.objects.count()
    actor = world.actor(S.Role.OPERATIONS)
    allowed = sorted({t for (s, t) in FLIPS if s == state})
    name = FLIPS.get((state, to))
    if name is None:
        with pytest.raises(TransitionRefused) as refused:
            denial_flip(
                actor=actor, denial_id=denial.pk, to=to, reason_code="out_of_band", reason="x"
            )
        assert refused.value.details["allowed"] == allowed
        assert f"allowed from here: {', '.join(allowed) or 'none'}" in refused.value.message
        if (state, to) in SYSTEM:  # the refusal says why: it is the system's move
            assert "system" in refused.value.message
        assert Denial.objects.get(pk=denial.pk).status == state
        assert not AuditEntry.objects.filter(action="MANUAL_FLIP").exists()
        return
    got = denial_flip(
        actor=actor,
        denial_id=denial.pk,
        to=to,
        reason_code="migration_cleanup",
        reason="import left it stale",
    )
    # the state moved, and NO money moved: no write-off, no reversal, same balance
    assert got.status == to
    assert PaymentApplication.objects.count() == apps
    assert amounts(claim)["balance"] == balance
    entry = AuditEntry.objects.get(action="MANUAL_FLIP")
    assert entry.object_id == str(denial.pk)
    assert {k: entry.payload[k] for k in ("from", "to", "transition", "payer")} == {
        "from": state,
        "to": to,
        "transition": name,
        "payer": "NYSDOH",
    }
    assert (entry.payload["requested_by"], entry.payload["approved_by"]) == (
        "alpha-operations",
        None,
    )
    assert entry.reason == f"{FLIP_REASONS['migration_cleanup']}: import left it stale"


def test_flip_needs_a_known_reason_code_text_and_the_scope(world):
    denial = posted(world)["denied"]
    owner = world.actor(S.Role.OWNER)
    with pytest.raises(DomainError):
        denial_flip(actor=owner, denial_id=denial.pk, to="RESOLVED", reason_code="nope", reason="x")
    with pytest.raises(DomainError):
        denial_flip(
            actor=owner, denial_id=denial.pk, to="RESOLVED", reason_code="out_of_band", reason=" "
        )
    with pytest.raises(ScopeDenied):
        denial_flip(
            actor=world.actor(S.Role.VIEWER),
            denial_id=denial.pk,
            to="RESOLVED",
            reason_code="out_of_band",
            reason="x",
        )
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"


def test_flip_under_dual_control_waits_and_a_second_person_executes_it(world):
    _dual_control(world)
    denial = posted(world)["denied"]
    requester = world.actor(S.Role.OPERATIONS)
    request = denial_flip(
        actor=requester,
        denial_id=denial.pk,
        to="RESOLVED",
        reason_code="out_of_band",
        reason="paid by phone",
    )
    assert isinstance(request, OverrideRequest)
    assert (request.status, request.action) == ("PENDING", "denials.denial_flip")
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"
    # self-approval refused
    with pytest.raises(ScopeDenied):
        override_request_approve(actor=requester, request_id=request.pk)
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"
    # a second person approves: it runs, the audit names both
    override_request_approve(actor=world.actor(S.Role.ADMIN), request_id=request.pk)
    assert Denial.objects.get(pk=denial.pk).status == "RESOLVED"
    entry = AuditEntry.objects.get(action="MANUAL_FLIP")
    assert (entry.payload["requested_by"], entry.payload["approved_by"]) == (
        "alpha-operations",
        "alpha-admin",
    )


def test_reopen_under_dual_control_waits_then_reverses_the_write_off(world):
    sample = posted(world)
    denial, claim = sample["denied"], sample["claims"]["denied"]
    owner = world.actor(S.Role.OWNER)
    denial_write_off(actor=owner, denial_id=denial.pk, reason="lost")  # not an override
    _dual_control(world)
    request = denial_reopen(actor=owner, denial_id=denial.pk, reason="new evidence")
    assert isinstance(request, OverrideRequest)
    assert Denial.objects.get(pk=denial.pk).status == "WRITTEN_OFF"
    assert amounts(claim)["balance"] == Decimal("0.00")
    with pytest.raises(ScopeDenied):
        override_request_approve(actor=owner, request_id=request.pk)
    override_request_approve(actor=world.actor(S.Role.BILLING_MANAGER), request_id=request.pk)
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"
    assert amounts(claim)["balance"] == Decimal("34.00")
    entry = AuditEntry.objects.get(action="DENIAL_REOPENED")
    assert (entry.payload["requested_by"], entry.payload["approved_by"]) == (
        "alpha-owner",
        "alpha-billing_manager",
    )


def test_a_reopen_request_expires_after_72_hours(world):
    denial = posted(world)["denied"]
    owner = world.actor(S.Role.OWNER)
    denial_write_off(actor=owner, denial_id=denial.pk, reason="lost")
    _dual_control(world)
    request = denial_reopen(actor=owner, denial_id=denial.pk, reason="new evidence")
    assert abs(request.expires_at - request.requested_at - timedelta(hours=72)) < timedelta(
        seconds=5
    )
    OverrideRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(Conflict):
        override_request_approve(actor=world.actor(S.Role.ADMIN), request_id=request.pk)
    assert OverrideRequest.objects.get(pk=request.pk).status == "EXPIRED"
    assert override_requests_expire(tenant=world.tenant) == 0
    assert Denial.objects.get(pk=denial.pk).status == "WRITTEN_OFF"


def test_a_flip_moves_no_money_but_the_claim_status_follows_its_denials(world):
    sample = posted(world)
    denial, claim = sample["denied"], sample["claims"]["denied"]
    assert amounts(claim)["status"] == "DENIED"
    denial_flip(
        actor=world.actor(),
        denial_id=denial.pk,
        to="RESOLVED",
        reason_code="out_of_band",
        reason="paid by paper EOB",
    )
    after = amounts(claim)
    assert (after["balance"], after["status"]) == (Decimal("34.00"), "SUBMITTED")
