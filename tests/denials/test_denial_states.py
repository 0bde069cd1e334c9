"""Every denial move, allowed and refused, GENERATED from the state machine (issue 14 item 1):
for each (state, target) pair the normal move `denial_transition` lands there exactly when a
non-system transition of the FSM leads there, and is refused with the allowed targets otherwise.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import scopes as S
from core.exceptions import TransitionRefused
from core.models import AuditEntry
from denials.models import Denial, PaymentApplication
from denials.services.denial_work import denial_transition
from denials.transitions_ref import denial_moves, denial_transitions
from tests.denials.flow_builders import posted, set_status

STATES = Denial.Status.values
ACTIONS = {
    "work": "DENIAL_WORKED",
    "resolve": "DENIAL_RESOLVED",
    "write_off": "DENIAL_WRITTEN_OFF",
    "reopen": "DENIAL_REOPENED",
}


def _person_moves() -> dict[tuple[str, str], str]:
    """(state, target) -> transition name, for every move a person takes (not the system's)."""
    out = {}
    for row in denial_moves():
        for m in row["moves"]:
            if not m["system"]:
                out[(row["state"], m["to"])] = m["transition"]
    return out


MOVES = _person_moves()
PAIRS = [(s, t) for s in STATES for t in STATES]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_the_reference_is_the_state_machine():
    # every FSM transition appears once per source state, with its target and custom label
    expected = {(t.source, t.name, t.target) for t in denial_transitions()}
    listed = {(r["state"], m["transition"], m["to"]) for r in denial_moves() for m in r["moves"]}
    assert listed == expected
    assert [r["state"] for r in denial_moves()] == STATES
    # the SPEC 6 moves are all there
    assert MOVES == {
        ("OPEN", "IN_PROGRESS"): "work",
        ("OPEN", "RESOLVED"): "resolve",
        ("OPEN", "WRITTEN_OFF"): "write_off",
        ("IN_PROGRESS", "RESOLVED"): "resolve",
        ("IN_PROGRESS", "WRITTEN_OFF"): "write_off",
        ("WRITTEN_OFF", "OPEN"): "reopen",
    }


@pytest.mark.parametrize(("state", "to"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_every_normal_move_from_every_state(world, state, to):
    denial = set_status(posted(world)["denied"], state)
    actor = world.actor(S.Role.OWNER)
    allowed = sorted({t for (s, t) in MOVES if s == state})
    name = MOVES.get((state, to))
    if name is None:
        with pytest.raises(TransitionRefused) as refused:
            denial_transition(actor=actor, denial_id=denial.pk, to=to, reason="r")
        assert refused.value.details["allowed"] == allowed
        assert refused.value.details["current"] == state
        for target in allowed:
            assert target in refused.value.message
        assert Denial.objects.get(pk=denial.pk).status == state
        assert not AuditEntry.objects.filter(action__startswith="DENIAL_").exists()
        return
    got = denial_transition(actor=actor, denial_id=denial.pk, to=to, reason="a reason")
    assert got.status == to
    assert Denial.objects.get(pk=denial.pk).status == to
    entry = AuditEntry.objects.get(action=ACTIONS[name], object_id=str(denial.pk))
    assert (entry.payload["from"], entry.payload["to"], entry.payload["payer"]) == (
        state,
        to,
        "NYSDOH",
    )
    writeoffs = PaymentApplication.objects.filter(denial=denial, kind="WRITEOFF")
    assert writeoffs.count() == (1 if name == "write_off" else 0)
    if name == "write_off":
        assert writeoffs.get().amount == Decimal("34.00")


def test_work_assigns_the_denial_to_whoever_works_it(world):
    denial = posted(world)["denied"]
    got = denial_transition(
        actor=world.actor(S.Role.OPERATIONS), denial_id=denial.pk, to="IN_PROGRESS"
    )
    assert (got.status, got.assignee) == ("IN_PROGRESS", world.users[S.Role.OPERATIONS])


@pytest.mark.parametrize("role", [S.Role.VIEWER])
def test_moves_need_the_denial_scope(world, role):
    from core.exceptions import ScopeDenied

    denial = posted(world)["denied"]
    with pytest.raises(ScopeDenied):
        denial_transition(actor=world.actor(role), denial_id=denial.pk, to="IN_PROGRESS")
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"


def test_a_denial_of_another_tenant_is_not_found(world):
    from core.actors import Actor
    from core.exceptions import NotFound

    denial = posted(world)["denied"]
    stranger = Actor(tenant=world.other_tenant, user=world.outsider)
    with pytest.raises(NotFound):
        denial_transition(actor=stranger, denial_id=denial.pk, to="IN_PROGRESS")


def test_bulk_applies_one_by_one_and_reports_each_outcome(world):
    from denials.services.denial_work import denials_bulk

    sample = posted(world)
    denied, partial = sample["denied"], sample["partial"]
    set_status(partial, "RESOLVED")
    out = denials_bulk(
        actor=world.actor(S.Role.OPERATIONS),
        denial_ids=[denied.pk, partial.pk, 999999],
        action="write_off",
        reason="small balances",
    )
    assert [(r["denial"], r["ok"], r["status"]) for r in out] == [
        (denied.pk, True, "WRITTEN_OFF"),
        (partial.pk, False, "RESOLVED"),
        (999999, False, None),
    ]
    assert "allowed from here" in out[1]["error"]
    assert "does not exist" in out[2]["error"]
    # the failures did not undo the success
    assert Denial.objects.get(pk=denied.pk).status == "WRITTEN_OFF"
    assert PaymentApplication.objects.filter(kind="WRITEOFF").count() == 1


def test_bulk_write_off_needs_one_reason_and_a_known_action(world):
    from core.exceptions import DomainError
    from denials.services.denial_work import denials_bulk

    denial = posted(world)["denied"]
    with pytest.raises(DomainError):
        denials_bulk(actor=world.actor(), denial_ids=[denial.pk], action="write_off", reason="")
    with pytest.raises(DomainError):
        denials_bulk(actor=world.actor(), denial_ids=[denial.pk], action="flip", reason="x")
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"


def test_assign_sets_and_clears_the_assignee_with_an_audit_entry(world):
    from core.exceptions import DomainError
    from denials.services.denial_work import denial_assign

    denial = posted(world)["denied"]
    ops = world.users[S.Role.OPERATIONS]
    got = denial_assign(actor=world.actor(), denial_id=denial.pk, user_id=ops.pk)
    assert (got.assignee, got.status) == (ops, "OPEN")
    denial_assign(actor=world.actor(), denial_id=denial.pk, user_id=None)
    assert Denial.objects.get(pk=denial.pk).assignee is None
    entries = AuditEntry.objects.filter(action="DENIAL_ASSIGNED").order_by("id")
    assert [e.payload["to"] for e in entries] == ["alpha-operations", None]
    with pytest.raises(DomainError):  # a user of another tenant is not assignable
        denial_assign(actor=world.actor(), denial_id=denial.pk, user_id=world.outsider.pk)


def test_bulk_never_tells_the_state_of_another_payers_denial(world):
    # given an OPERATIONS member limited to another payer (guardian grant)
    from guardian.shortcuts import assign_perm

    from denials.services.denial_work import denials_bulk
    from tests.denials.rec_builders import payer

    sample = posted(world)
    denied = set_status(sample["denied"], "RESOLVED")
    assign_perm("view_payer", world.users[S.Role.OPERATIONS], payer(world.tenant, "ACME", "Acme"))
    # when they bulk-work the denial of a payer they may not see
    out = denials_bulk(
        actor=world.actor(S.Role.OPERATIONS), denial_ids=[denied.pk], action="work", reason=""
    )
    # then it does not exist for them, and its state is not given away
    assert [(r["ok"], r["status"]) for r in out] == [(False, None)]
    assert "does not exist" in out[0]["error"]
    assert Denial.objects.get(pk=denied.pk).status == "RESOLVED"
