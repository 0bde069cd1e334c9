"""Claims and denials event types (issue 19): remittances posted, receivables waiting,
denials opened, written off and reopened.

- `claims.remittance.posted`: the audit entry a remittance's claim payments write when a chunk
  of them is stored, matched and posted (`REMITTANCE_CLAIMS_LOADED`, one per remittance).
- `claims.receivable.unmatched`: a remittance claim waits in the receivables queue. Emitted by
  the loading service for the lines no claim matched (one `event_emit_many` per chunk), and by
  the audit entry of a manual unmatch (`REMITTANCE_CLAIM_UNMATCHED`).
- `denials.denial.opened`: emitted by posting for the denials a posting opens (many per
  remittance: one `event_emit_many` per posting call).
- `denials.denial.written_off` / `denials.denial.reopened`: the audit entries of the moves, and
  a manual flip (`MANUAL_FLIP`) that takes the same move without its money.

Payloads carry ids, codes (CARC, group, claim status), states and amounts: never the member,
the patient control number, the claim's member code, nor reasons.
"""

from __future__ import annotations

from decimal import Decimal

from core.events import EventContext, EventType, event_emit_many, event_types_register

REMITTANCE = "denials.Remittance"
RECEIVABLE = "denials.RemittanceClaim"
DENIAL = "denials.Denial"
CENT = Decimal("0.01")


# --- remittance posted ------------------------------------------------------------------------


def remittance_payload(ctx: EventContext) -> dict:
    """The remittance, its payment and this load's claim counts."""
    from denials.models import Remittance

    r = ctx.obj if isinstance(ctx.obj, Remittance) else Remittance.objects.get(pk=ctx.object_id)
    claims = int(ctx.audit_payload.get("claims", 0))
    matched = int(ctx.audit_payload.get("matched_auto", 0))
    return {
        "remittance": r.pk,
        "payer": r.payer_id,
        "batch": r.batch_id,
        "trace_number": r.trace_number,
        "payment_amount": r.payment_amount,
        "payment_method": r.payment_method,
        "payment_date": r.payment_date.isoformat() if r.payment_date else None,
        "claims": claims,
        "matched_auto": matched,
        "unmatched": claims - matched,
    }


# --- receivable unmatched ---------------------------------------------------------------------


def receivable_item(rc_id: int, *, remittance_id, status_code, charge, paid, candidates) -> dict:
    """One `claims.receivable.unmatched` item for `event_emit_many`."""
    return {
        "object_id": rc_id,
        "payload": {
            "remittance_claim": rc_id,
            "remittance": remittance_id,
            "match_state": "UNMATCHED",
            "status_code": status_code,
            "charge_amount": Decimal(charge).quantize(CENT),
            "paid_amount": Decimal(paid).quantize(CENT),
            "candidates": candidates,
        },
    }


def receivables_unmatched_emit(*, tenant, items: list[dict]) -> None:
    """Inside the loading transaction: the lines no claim matched wait in the queue."""
    if items:
        event_emit_many(tenant=tenant, type="claims.receivable.unmatched", items=items)


def unmatched_payload(ctx: EventContext) -> dict:
    """A line a person unmatched: back in the queue."""
    from denials.models import RemittanceClaim

    rc = ctx.obj
    if not isinstance(rc, RemittanceClaim):
        rc = RemittanceClaim.objects.get(pk=ctx.object_id)
    return receivable_item(
        rc.pk,
        remittance_id=rc.remittance_id,
        status_code=rc.status_code,
        charge=rc.charge_amount,
        paid=rc.paid_amount,
        candidates=len(rc.candidates or []),
    )["payload"]


# --- denials ----------------------------------------------------------------------------------


def denials_opened_emit(*, tenant, remittance_claim_ids, created_at) -> None:
    """Inside the posting transaction: one `denials.denial.opened` per denial just opened."""
    from denials.models import Denial

    if not remittance_claim_ids:
        return
    rows = (
        Denial.objects.filter(
            tenant=tenant,
            remittance_claim_id__in=sorted(remittance_claim_ids),
            created_at=created_at,
            status=Denial.Status.OPEN,
        )
        .order_by("pk")
        .values_list("pk", "claim_id", "remittance_claim_id", "group_code", "carc", "amount")
    )
    items = [
        {
            "object_id": pk,
            "payload": {
                "denial": pk,
                "claim": claim_id,
                "remittance_claim": rc_id,
                "status": "OPEN",
                "group_code": group,
                "carc": carc,
                "amount": amount,
            },
        }
        for pk, claim_id, rc_id, group, carc, amount in rows
    ]
    if items:
        event_emit_many(tenant=tenant, type="denials.denial.opened", items=items)


def _denial_payload(ctx: EventContext, *, move: str) -> dict | None:
    from denials.models import Denial

    manual = ctx.action == "MANUAL_FLIP"
    if manual and ctx.audit_payload.get("transition") != move:
        return None
    d = ctx.obj if isinstance(ctx.obj, Denial) else Denial.objects.get(pk=ctx.object_id)
    return {
        "denial": d.pk,
        "claim": d.claim_id,
        "status": d.status,
        "group_code": d.group_code,
        "carc": d.carc,
        "denied_amount": d.amount,
        # what the move wrote off or reversed (a manual flip moves no money)
        "amount": "0.00" if manual else str(ctx.audit_payload.get("amount", "0.00")),
        "manual_flip": manual,
    }


def written_off_payload(ctx: EventContext) -> dict | None:
    """A denial written off (or flipped to WRITTEN_OFF)."""
    return _denial_payload(ctx, move="write_off")


def reopened_payload(ctx: EventContext) -> dict | None:
    """A written-off denial reopened (or flipped back to OPEN)."""
    return _denial_payload(ctx, move="reopen")


_DENIAL_SAMPLE = {
    "denial": 501,
    "claim": 77,
    "group_code": "CO",
    "carc": "97",
    "denied_amount": "120.00",
}

TYPES = [
    EventType(
        name="claims.remittance.posted",
        description="A remittance (835) was loaded: its claim payments stored, the matched ones "
        "posted on their claims (one event per remittance and loaded chunk).",
        object_type=REMITTANCE,
        actions=("REMITTANCE_CLAIMS_LOADED",),
        payload=remittance_payload,
        sample={
            "remittance": 15,
            "payer": 3,
            "batch": 40,
            "trace_number": "EFT20260915001",
            "payment_amount": "18250.75",
            "payment_method": "ACH",
            "payment_date": "2026-09-15",
            "claims": 120,
            "matched_auto": 117,
            "unmatched": 3,
        },
    ),
    EventType(
        name="claims.receivable.unmatched",
        description="A remittance claim matched no claim automatically (or a person unmatched "
        "it): it waits in the receivables queue.",
        object_type=RECEIVABLE,
        actions=("REMITTANCE_CLAIM_UNMATCHED",),
        payload=unmatched_payload,
        sample={
            "remittance_claim": 902,
            "remittance": 15,
            "match_state": "UNMATCHED",
            "status_code": "1",
            "charge_amount": "310.00",
            "paid_amount": "280.00",
            "candidates": 2,
        },
    ),
    EventType(
        name="denials.denial.opened",
        description="Posting a remittance claim opened a denial (an adjustment the payer did "
        "not pay): it enters the denial work queue.",
        object_type=DENIAL,
        sample={
            **_DENIAL_SAMPLE,
            "remittance_claim": 901,
            "status": "OPEN",
            "amount": "120.00",
        },
    ),
    EventType(
        name="denials.denial.written_off",
        description="A denial was written off (its open amount posted as a WRITEOFF), or "
        "flipped to WRITTEN_OFF by a manual flip (no money moved).",
        object_type=DENIAL,
        actions=("DENIAL_WRITTEN_OFF", "MANUAL_FLIP"),
        payload=written_off_payload,
        sample={
            **_DENIAL_SAMPLE,
            "status": "WRITTEN_OFF",
            "amount": "120.00",
            "manual_flip": False,
        },
    ),
    EventType(
        name="denials.denial.reopened",
        description="A written-off denial was reopened (its write-off reversed), or flipped "
        "back to OPEN by a manual flip (no money moved).",
        object_type=DENIAL,
        actions=("DENIAL_REOPENED", "MANUAL_FLIP"),
        payload=reopened_payload,
        sample={
            **_DENIAL_SAMPLE,
            "status": "OPEN",
            "amount": "120.00",
            "manual_flip": False,
        },
    ),
]


def register() -> None:
    """Add the claims and denials types to the event catalogue."""
    event_types_register("denials", TYPES)
