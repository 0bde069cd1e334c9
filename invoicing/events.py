"""Invoicing's event types (issue 19): a request waits for approval, a bill was posted.

`invoicing.request.pending_approval` is written by the request's creation entry, only when the
request really enters PENDING_APPROVAL (a type without approval goes straight to PENDING).
`invoicing.bill.posted` is emitted by the processing service when a REGULAR bill is cut (a
TRIAL bill stays a DRAFT and posts nothing): its object is the bill, not the request's audit
entry. Payloads carry ids, dates, counts and amounts; not the account's name.
"""

from __future__ import annotations

from core.event_types import object_link
from core.events import EventContext, EventType, event_emit_many, event_types_register

REQUEST = "invoicing.InvoiceRequest"
BILL = "invoicing.Bill"


def pending_payload(ctx: EventContext) -> dict | None:
    """The request waiting for approval (None when it did not enter PENDING_APPROVAL)."""
    from invoicing.models import InvoiceRequest

    if ctx.audit_payload.get("to") != InvoiceRequest.Status.PENDING_APPROVAL:
        return None
    r = ctx.obj
    if not isinstance(r, InvoiceRequest):
        r = InvoiceRequest.objects.get(pk=ctx.object_id)
    return {
        "request": r.pk,
        "type": ctx.audit_payload.get("type", ""),
        "account": r.account_id,
        "origin": r.origin,
        "status": r.status,
        "cutoff_date": r.cutoff_date.isoformat(),
        "bill_date": r.bill_date.isoformat(),
        "processing_date": r.processing_date.isoformat(),
    }


def bill_payload(bill, request) -> dict:
    """A posted bill: its request, account, dates, line count and total."""
    return {
        "bill": bill.pk,
        "request": request.pk if request is not None else None,
        "account": bill.account_id,
        "kind": bill.kind,
        "status": bill.status,
        "cutoff_date": bill.cutoff_date.isoformat(),
        "bill_date": bill.bill_date.isoformat(),
        "accounting_date": bill.accounting_date.isoformat(),
        "lines": bill.line_count,
        "total": bill.total,
    }


def bills_posted_emit(*, tenant, pairs) -> None:
    """Inside the processing transaction: one `invoicing.bill.posted` per REGULAR bill.

    `pairs` are (request, bill); TRIAL (draft) bills are skipped.
    """
    from invoicing.models import Bill

    items = [
        {"obj": bill, "object_id": bill.pk, "payload": bill_payload(bill, request)}
        for request, bill in pairs
        if bill.status == Bill.Status.POSTED
    ]
    if items:
        event_emit_many(tenant=tenant, type="invoicing.bill.posted", items=items)


def approvers(event) -> list[int]:
    """Members holding invoicing.request.approve who see its payer, minus its creator.

    Payer grants narrow what an approver sees; the creator never approves (four-eyes).
    """
    from billing.models import Payer
    from core import scopes as S
    from core.event_types import grant_allowed, scope_holders
    from invoicing.models import InvoiceRequest

    row = (
        InvoiceRequest.objects.filter(pk=event.object_id, tenant_id=event.tenant_id)
        .values_list("created_by_id", "account__payer_id")
        .first()
    )
    if row is None:
        return []
    creator, payer_id = row
    holders = [
        u for u in scope_holders(event.tenant_id, S.INVOICING_REQUEST_APPROVE) if u != creator
    ]
    return grant_allowed(holders, Payer, payer_id)


def pending_title(event) -> str:
    return f"Invoice request #{event.payload.get('request')} waits for your approval"


TYPES = [
    EventType(
        name="invoicing.request.pending_approval",
        description="An invoice request of a type that needs approval was created and waits "
        "for an approver other than its creator.",
        object_type=REQUEST,
        actions=("InvoiceRequest.create",),
        payload=pending_payload,
        recipients=approvers,
        title=pending_title,
        link=object_link("invoicing:request"),
        sample={
            "request": 31,
            "type": "REG",
            "account": 7,
            "origin": "MANUAL",
            "status": "PENDING_APPROVAL",
            "cutoff_date": "2026-09-30",
            "bill_date": "2026-10-01",
            "processing_date": "2026-10-01",
        },
    ),
    EventType(
        name="invoicing.bill.posted",
        description="A REGULAR bill was cut for an account and posted: it took the account's "
        "unbilled charges up to the cutoff (TRIAL bills are drafts and post nothing).",
        object_type=BILL,
        sample={
            "bill": 88,
            "request": 31,
            "account": 7,
            "kind": "REGULAR",
            "status": "POSTED",
            "cutoff_date": "2026-09-30",
            "bill_date": "2026-10-01",
            "accounting_date": "2026-10-01",
            "lines": 42,
            "total": "12840.00",
        },
    ),
]


def register() -> None:
    """Add invoicing's types to the event catalogue."""
    event_types_register("invoicing", TYPES)
