"""Denial work (issue 14, SPEC 6): work, assign, resolve, write off, reopen, flip, bulk.

Plain moves (`billing.denial.write`) go through `transition_apply` and carry their money side
effect: a write-off adds a WRITEOFF application for the denial's open amount, a reopen a
REVERSAL of that write-off, and the claim's status is set again from its applications. Reopen
and the manual flip are overrides (`core.overrides`): under dual control they wait for a second
person. A flip takes a move the state machine allows WITHOUT its money side effect and is
audited as MANUAL_FLIP; the system's own moves (void, resolve by reversal) are never flippable.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum

from billing.selectors import visible_payers
from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict, DomainError, NotFound, TransitionRefused
from core.models import OverrideRequest
from core.overrides import OverrideAction, override_people, override_perform, register_override
from core.transitions import transition_apply
from denials.models import Claim, Denial, PaymentApplication
from denials.services.post_apply import claims_settle

REOPEN = "denials.denial_reopen"
FLIP = "denials.denial_flip"
WRITE = S.BILLING_DENIAL_WRITE
Kind = PaymentApplication.Kind
Status = Denial.Status

FLIP_REASONS: dict[str, str] = {
    "out_of_band": ("Out-of-band resolution (phone call, paper EOB resolved without an 835)"),
    "stale_reversed_payment": "Stale denial due to a reversed payment",
    "migration_cleanup": "Migration cleanup (tenant data import created stale state)",
}

# The normal move that leads to each target state (what `denial_transition` dispatches to).
TARGET_MOVES = {
    Status.IN_PROGRESS: "work",
    Status.RESOLVED: "resolve",
    Status.WRITTEN_OFF: "write_off",
    Status.OPEN: "reopen",
}
BULK_ACTIONS = ("work", "write_off", "resolve")


def _text(reason: str, what: str = "reason") -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(f"{what}: a reason is required.", code="reason_required")
    return reason


def _denial(actor: Actor, pk, *, lock: bool = False) -> Denial:
    """The denial of the actor's tenant on a payer the actor may see (404 otherwise)."""
    qs = Denial.objects.filter(
        pk=pk, tenant=actor.tenant, claim__payer_id__in=visible_payers(actor).values("id")
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    denial = qs.first()
    if denial is None:
        raise NotFound(f"Denial {pk} does not exist.")
    return denial


def _check_claim_open(denial: Denial) -> None:
    """Money moves on a claim only while it is not CLOSED (as posting refuses)."""
    if denial.claim.status == Claim.Status.CLOSED:
        raise Conflict(
            f"Claim {denial.claim.number} is CLOSED; no write-off or reversal can be posted "
            "on it (a manual flip moves no money).",
            details={"claim_status": denial.claim.status},
        )


def _payer_code(denial: Denial) -> str:
    return denial.claim.payer.code


def _who(user) -> str | None:
    return user.get_username() if user is not None else None


def _open_writeoffs(denial: Denial):
    return PaymentApplication.objects.filter(
        denial_id=denial.pk, kind=Kind.WRITEOFF, reversed_by__isnull=True
    )


def denial_open_amount(denial: Denial) -> Decimal:
    """The denied amount not yet written off (a reversed write-off counts as open again)."""
    written = _open_writeoffs(denial).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return max(denial.amount - written, Decimal("0.00"))


def _move(actor: Actor, denial: Denial, name: str, action: str, **extra) -> Denial:
    """A plain transition of the denial with its audit action; `payer` always in the payload."""
    payload = {"payer": _payer_code(denial), **extra.pop("payload", {})}
    return transition_apply(
        actor=actor,
        model=Denial,
        pk=denial.pk,
        name=name,
        scope=WRITE,
        action=action,
        payload=payload,
        **extra,
    )


def denial_work(*, actor: Actor, denial_id: int) -> Denial:
    """Start working a denial (OPEN -> IN_PROGRESS); it is assigned to the actor."""
    actor.require(WRITE)
    denial = _denial(actor, denial_id)
    user = actor.user
    return _move(
        actor,
        denial,
        "work",
        "DENIAL_WORKED",
        payload={"assignee": _who(user)},
        kwargs={"assignee": user},
    )


def denial_assign(*, actor: Actor, denial_id: int, user_id: int | None) -> Denial:
    """Assign a denial to a member of the tenant (or to nobody); no state change."""
    from core.audit import audit_record

    actor.require(WRITE)
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None or not _is_member(actor, user):
            raise DomainError("user: no such member of this organisation.", code="invalid")
    with transaction.atomic():
        denial = _denial(actor, denial_id, lock=True)
        before = denial.assignee
        Denial.objects.filter(pk=denial.pk).update(assignee=user)
        denial.assignee = user
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="DENIAL_ASSIGNED",
            obj=denial,
            payload={
                "payer": _payer_code(denial),
                "from": _who(before),
                "to": _who(user),
            },
        )
    return denial


def _is_member(actor: Actor, user) -> bool:
    from core.models import TenantMembership

    return TenantMembership.objects.filter(tenant=actor.tenant, user=user).exists()


def denial_resolve(*, actor: Actor, denial_id: int, reason: str = "") -> Denial:
    """The denial is settled (paid on appeal, rebilled): OPEN|IN_PROGRESS -> RESOLVED."""
    actor.require(WRITE)
    denial = _denial(actor, denial_id)
    with transaction.atomic():
        denial = _move(actor, denial, "resolve", "DENIAL_RESOLVED", reason=reason)
        claims_settle(actor=actor, claim_ids={denial.claim_id})
    return denial


def denial_write_off(*, actor: Actor, denial_id: int, reason: str) -> Denial:
    """Write the denial off: a WRITEOFF application for its open amount; the claim re-settles."""
    actor.require(WRITE)
    reason = _text(reason)
    with transaction.atomic():
        denial = _denial(actor, denial_id, lock=True)
        _check_claim_open(denial)
        amount = denial_open_amount(denial)
        denial = _move(
            actor,
            denial,
            "write_off",
            "DENIAL_WRITTEN_OFF",
            reason=reason,
            reason_required=True,
            payload={"amount": str(amount), "claim": denial.claim.number},
        )
        if amount > 0:
            PaymentApplication.objects.create(
                tenant=actor.tenant,
                claim_id=denial.claim_id,
                kind=Kind.WRITEOFF,
                amount=amount,
                group_code=denial.group_code,
                carc=denial.carc,
                denial=denial,
                created_by=actor.user,
            )
        claims_settle(actor=actor, claim_ids={denial.claim_id})
    return denial


def _reverse_writeoffs(actor: Actor, denial: Denial, user) -> Decimal:
    """A REVERSAL of each write-off still standing on the denial; returns the amount."""
    total = Decimal("0.00")
    for app in _open_writeoffs(denial).select_for_update(of=("self",)):
        PaymentApplication.objects.create(
            tenant=actor.tenant,
            claim_id=app.claim_id,
            kind=Kind.REVERSAL,
            amount=app.amount,
            group_code=app.group_code,
            carc=app.carc,
            reverses=app,
            denial=denial,
            created_by=user,
        )
        total += app.amount
    return total


def _check_reopenable(denial: Denial) -> None:
    if denial.status != Status.WRITTEN_OFF:
        raise TransitionRefused(
            f"Cannot reopen denial {denial.pk}: it is {denial.status}; only a written-off "
            "denial can be reopened.",
            details={"current": denial.status, "allowed": _allowed_targets(denial)},
        )


def _reopen_execute(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by):
    """Run a reopen (at once, or when a second person approved it)."""
    denial = _denial(actor, payload.get("denial"), lock=True)
    _check_reopenable(denial)
    _check_claim_open(denial)
    amount = _reverse_writeoffs(actor, denial, requested_by)
    _move(
        actor,
        denial,
        "reopen",
        "DENIAL_REOPENED",
        reason=reason,
        reason_required=True,
        payload={
            "amount": str(amount),
            "claim": denial.claim.number,
            **override_people(requested_by, approved_by),
        },
    )
    claims_settle(actor=actor, claim_ids={denial.claim_id})
    return {"denial": denial.pk, "status": Status.OPEN, "reversed": str(amount)}


def denial_reopen(*, actor: Actor, denial_id: int, reason: str) -> Denial | OverrideRequest:
    """Reopen a written-off denial (the write-off is reversed); may wait for a second person."""
    actor.require(WRITE)
    reason = _text(reason)
    denial = _denial(actor, denial_id)
    _check_reopenable(denial)
    _check_claim_open(denial)
    outcome = override_perform(
        actor=actor, action=REOPEN, payload={"denial": denial.pk}, reason=reason
    )
    if not outcome.executed:
        return outcome.request
    return Denial.objects.get(pk=denial.pk)


def _moves_from(state: str, *, flippable: bool = False) -> list:
    """The FSM transitions leaving `state` (only those a person may flip, when asked)."""
    field = Denial._meta.get_field("status")
    out = []
    for t in field.get_all_transitions(Denial):
        if t.source not in (state, "*"):
            continue
        if flippable and (t.custom or {}).get("system"):
            continue
        out.append(t)
    return sorted(out, key=lambda t: (t.target, t.name))


def _allowed_targets(denial: Denial, *, flippable: bool = False) -> list[str]:
    return sorted({t.target for t in _moves_from(denial.status, flippable=flippable)})


def _flip_transition(denial: Denial, to: str):
    """The transition a flip to `to` takes, or a refusal listing the allowed targets."""
    allowed = _allowed_targets(denial, flippable=True)
    for t in _moves_from(denial.status, flippable=True):
        if t.target == to:
            return t
    system = [t.name for t in _moves_from(denial.status) if t.target == to]
    why = f" ({', '.join(system)} is the system's own move and cannot be flipped)" if system else ""
    raise TransitionRefused(
        f"Cannot flip denial {denial.pk} from {denial.status} to {to}{why}; "
        f"allowed from here: {', '.join(allowed) or 'none'}.",
        details={"current": denial.status, "to": to, "allowed": allowed},
    )


def _flip_execute(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by):
    """Run a manual flip: the FSM move without its money side effect, audited MANUAL_FLIP."""
    denial = _denial(actor, payload.get("denial"), lock=True)
    t = _flip_transition(denial, payload.get("to", ""))
    denial = _move(
        actor,
        denial,
        t.name,
        "MANUAL_FLIP",
        reason=reason,
        reason_required=True,
        payload={
            "transition": t.name,
            "reason_code": payload.get("reason_code", ""),
            **override_people(requested_by, approved_by),
        },
    )
    # no money moved, but the claim's status follows its workable denials (derived, not money)
    claims_settle(actor=actor, claim_ids={denial.claim_id})
    return {"denial": denial.pk, "status": denial.status, "transition": t.name}


def flip_reason_text(reason_code: str, reason: str) -> str:
    """The stored reason of a flip: '<picklist label>: <free text>'."""
    if reason_code not in FLIP_REASONS:
        raise DomainError(f"reason_code: choose one of {', '.join(FLIP_REASONS)}.", code="invalid")
    return f"{FLIP_REASONS[reason_code]}: {_text(reason)}"


def denial_flip(
    *, actor: Actor, denial_id: int, to: str, reason: str, reason_code: str = "out_of_band"
) -> Denial | OverrideRequest:
    """Flip a denial to a state the FSM allows from here, without the move's side effect."""
    actor.require(WRITE)
    text = flip_reason_text(reason_code, reason)
    denial = _denial(actor, denial_id)
    t = _flip_transition(denial, to)
    outcome = override_perform(
        actor=actor,
        action=FLIP,
        payload={"denial": denial.pk, "to": t.target, "reason_code": reason_code},
        reason=text,
    )
    if not outcome.executed:
        return outcome.request
    return Denial.objects.get(pk=denial.pk)


def denial_transition(
    *, actor: Actor, denial_id: int, to: str, reason: str = ""
) -> Denial | OverrideRequest:
    """Take the normal move to state `to` (work, resolve, write off or reopen)."""
    actor.require(WRITE)
    denial = _denial(actor, denial_id)
    name = TARGET_MOVES.get(to)
    if name is None or name not in {t.name for t in _moves_from(denial.status)}:
        allowed = sorted(
            {t.target for t in _moves_from(denial.status) if not (t.custom or {}).get("system")}
        )
        raise TransitionRefused(
            f"Cannot move denial {denial.pk} from {denial.status} to {to}; "
            f"allowed from here: {', '.join(allowed) or 'none'}.",
            details={"current": denial.status, "to": to, "allowed": allowed},
        )
    if name == "work":
        return denial_work(actor=actor, denial_id=denial.pk)
    if name == "resolve":
        return denial_resolve(actor=actor, denial_id=denial.pk, reason=reason)
    if name == "write_off":
        return denial_write_off(actor=actor, denial_id=denial.pk, reason=reason)
    return denial_reopen(actor=actor, denial_id=denial.pk, reason=reason)


def denials_bulk(
    *, actor: Actor, denial_ids: list[int], action: str, reason: str = ""
) -> list[dict]:
    """Apply one action to many denials one by one; each outcome reported, none blocks another."""
    actor.require(WRITE)
    if action not in BULK_ACTIONS:
        raise DomainError(f"action: choose one of {', '.join(BULK_ACTIONS)}.", code="invalid")
    if action == "write_off":
        reason = _text(reason)
    run = {
        "work": lambda pk: denial_work(actor=actor, denial_id=pk),
        "write_off": lambda pk: denial_write_off(actor=actor, denial_id=pk, reason=reason),
        "resolve": lambda pk: denial_resolve(actor=actor, denial_id=pk, reason=reason),
    }[action]
    results = []
    for pk in dict.fromkeys(denial_ids):
        try:
            with transaction.atomic():  # its own savepoint: one failure undoes only itself
                denial = run(pk)
            results.append({"denial": pk, "ok": True, "status": denial.status, "error": ""})
        except DomainError as exc:
            try:  # the state only of a denial the actor may see (payer grants)
                current = _denial(actor, pk).status
            except NotFound:
                current = None
            results.append({"denial": pk, "ok": False, "status": current, "error": str(exc)})
    return results


def _describe_reopen(payload: dict) -> str:
    return f"Reopen written-off denial #{payload.get('denial')}"


def _describe_flip(payload: dict) -> str:
    label = FLIP_REASONS.get(payload.get("reason_code", ""), "")
    return f"Manual flip of denial #{payload.get('denial')} to {payload.get('to')} ({label})"


def register() -> None:
    """Offer reopen and manual flip to core's dual-control machinery."""
    register_override(
        OverrideAction(name=REOPEN, scope=WRITE, execute=_reopen_execute, describe=_describe_reopen)
    )
    register_override(
        OverrideAction(name=FLIP, scope=WRITE, execute=_flip_execute, describe=_describe_flip)
    )
