"""Processing invoice requests (SPEC 5): cut the bill, mark charges billed, render the PDF.

REGULAR -> a POSTED bill with a line per unbilled charge dated <= cutoff; those charges get
`bill` set. TRIAL -> a DRAFT bill with the same lines; charges untouched. The account row and
its charges are locked while the bill is cut, so two requests processed at once never bill a
charge twice.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string

from core import csvsafe, queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.bulk import fetch_rows, insert_rows, update_rows
from core.exceptions import DomainError
from core.transitions import transition_apply, transition_apply_many
from invoicing.events import bills_posted_emit
from invoicing.models import (
    Account,
    Bill,
    BillableCharge,
    BillLine,
    InvoiceRequest,
    InvoiceRequestType,
)

log = logging.getLogger("healthbill.invoicing")
Status = InvoiceRequest.Status

PDF_LINES = 30  # lines on the summary page; the rest are in the attached CSV


def _cut_bill(request: InvoiceRequest) -> Bill:
    """Inside the caller's transaction: lock, build the bill and its lines, take the charges."""
    Account.objects.select_for_update().filter(pk=request.account_id).first()
    charges = list(
        BillableCharge.objects.select_for_update()
        .filter(
            account_id=request.account_id, bill__isnull=True, charge_date__lte=request.cutoff_date
        )
        .order_by("charge_date", "id")
    )
    regular = request.type.bill_generation == Bill.Kind.REGULAR
    bill = Bill.objects.create(
        tenant_id=request.tenant_id,
        account_id=request.account_id,
        kind=Bill.Kind.REGULAR if regular else Bill.Kind.TRIAL,
        status=Bill.Status.POSTED if regular else Bill.Status.DRAFT,
        cutoff_date=request.cutoff_date,
        bill_date=request.bill_date,
        accounting_date=request.accounting_date,
        total=sum((c.amount for c in charges), Decimal("0.00")),
        line_count=len(charges),
    )
    BillLine.objects.bulk_create(
        [
            BillLine(
                tenant_id=request.tenant_id,
                bill=bill,
                position=i,
                charge=c,
                charge_date=c.charge_date,
                description=c.description,
                amount=c.amount,
            )
            for i, c in enumerate(charges, start=1)
        ],
        batch_size=2000,
    )
    if regular and charges:
        # Charges are not state machines: a bulk update is the honest write here.
        taken = BillableCharge.objects.filter(pk__in=[c.pk for c in charges], bill__isnull=True)
        if taken.update(bill=bill) != len(charges):
            raise DomainError("charges changed while the bill was cut; retry the request.")
    return bill


def _public_error(exc: Exception) -> str:
    """An error text safe to store and show: our own messages, else the exception class only."""
    if isinstance(exc, DomainError):
        return exc.message
    return f"Processing failed ({type(exc).__name__}); see the server log for the request id."


def _pdf_requeue_if_missing(request: InvoiceRequest | None) -> None:
    """Queue the PDF render (after commit) of a processed request's bill that has none.

    The render is queued when the processing transaction commits; a worker killed between
    that commit and the enqueue leaves the bill without a PDF for ever. Its processing task is
    then still in the broker (acknowledged only once it returns) and is handed out again: this
    is where that re-delivery makes good the render. The render itself runs once per bill.
    """
    if request is None or request.status != Status.PROCESSED or not request.bill_id:
        return
    if Bill.objects.filter(pk=request.bill_id, pdf="").exists():
        bill_id = request.bill_id
        transaction.on_commit(lambda: queue.enqueue("invoicing.tasks.bill_render_pdf", bill_id))


def invoice_request_process(
    *, actor: Actor, request_id: int, business_date: date | None = None
) -> InvoiceRequest:
    """Cut the bill of a PENDING request (due on the business date, if given); ERROR on failure.

    Idempotent: a request no longer PENDING, or not yet due, is returned unchanged; a PROCESSED
    one whose bill has no PDF gets its render queued again (`_pdf_requeue_if_missing`).
    """
    actor.require(S.INVOICING_REQUEST_CREATE)
    request = (
        InvoiceRequest.objects.filter(pk=request_id, tenant=actor.tenant)
        .select_related("type")
        .first()
    )
    if request is None or request.status != Status.PENDING:
        _pdf_requeue_if_missing(request)
        return request
    if business_date is not None and request.processing_date > business_date:
        return request
    try:
        with transaction.atomic():
            locked = InvoiceRequest.objects.select_for_update().get(pk=request.pk)
            if locked.status != Status.PENDING:  # another worker got there first
                _pdf_requeue_if_missing(locked)
                return locked
            bill = _cut_bill(request)
            request = transition_apply(
                actor=actor,
                model=InvoiceRequest,
                pk=request.pk,
                name="processed",
                scope=S.INVOICING_REQUEST_CREATE,
                payload={
                    "bill": bill.pk,
                    "kind": bill.kind,
                    "lines": bill.line_count,
                    "total": str(bill.total),
                },
                kwargs={"bill": bill},
            )
            bills_posted_emit(tenant=actor.tenant, pairs=[(request, bill)])
            bill_id = bill.pk
            transaction.on_commit(lambda: queue.enqueue("invoicing.tasks.bill_render_pdf", bill_id))
    except Exception as exc:  # noqa: BLE001 - any failure parks the request in ERROR
        log.warning(
            "invoice request processing failed",
            extra={"request": request.pk, "error_class": type(exc).__name__},
        )
        request = transition_apply(
            actor=actor,
            model=InvoiceRequest,
            pk=request.pk,
            name="failed",
            scope=S.INVOICING_REQUEST_CREATE,
            payload={"error": _public_error(exc)},
            kwargs={"error": _public_error(exc)},
        )
    return request


def invoice_request_fail(*, request_id: int, reason: str) -> InvoiceRequest:
    """Put a PENDING request whose processing cannot finish (the watchdog's last try) in ERROR,
    with the reason as its error (audited); one no longer PENDING is returned unchanged."""
    request = InvoiceRequest.objects.select_related("tenant").get(pk=request_id)
    with transaction.atomic():
        locked = InvoiceRequest.objects.select_for_update().get(pk=request_id)
        if locked.status != Status.PENDING:
            return locked
        return transition_apply(
            actor=Actor.system_for(request.tenant),
            model=InvoiceRequest,
            pk=request_id,
            name="failed",
            scope=S.INVOICING_REQUEST_CREATE,
            reason=reason,
            payload={"error": reason},
            kwargs={"error": reason},
        )


def bill_summary(bill: Bill | None) -> dict | None:
    """{"id", "kind", "lines", "total"} of a bill (commands and API)."""
    if bill is None:
        return None
    return {"id": bill.pk, "kind": bill.kind, "lines": bill.line_count, "total": str(bill.total)}


CHUNK = 500  # requests cut together in one transaction by the batch


def _waves(due: list[tuple[int, int]], size: int) -> list[list[int]]:
    """Chunks of request ids in processing order, each account at most once per chunk.

    A second request of an account goes to a later chunk, so requests of one account are cut
    one after the other (a trial after a regular bill sees the charges already taken).
    """
    chunks, pending = [], due
    while pending:
        chunk, rest, seen = [], [], set()
        for pk, account_id in pending:
            if account_id in seen or len(chunk) >= size:
                rest.append((pk, account_id))
            else:
                chunk.append(pk)
                seen.add(account_id)
        chunks.append(chunk)
        pending = rest
    return chunks


def _cut_bills(actor: Actor, ids: list[int], business_date: date) -> list[dict]:
    """Inside the caller's transaction: cut the bills of a chunk of requests at once.

    The same semantics as one request at a time: the requests, then their accounts, then the
    unbilled charges up to each cutoff are locked; one bill per request, a line per charge,
    REGULAR bills take their charges (checked: never a charge already taken), each request
    goes PENDING -> PROCESSED through the transition with its audit entry.
    """
    requests = list(
        InvoiceRequest.objects.select_for_update()
        .filter(
            pk__in=ids,
            tenant=actor.tenant,
            status=Status.PENDING,
            processing_date__lte=business_date,
        )
        .order_by("pk")
    )
    if not requests:
        return []
    types = {
        t.pk: t for t in InvoiceRequestType.objects.filter(pk__in={r.type_id for r in requests})
    }
    account_ids = sorted({r.account_id for r in requests})
    list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values("pk"))
    charges: dict[int, list[tuple]] = {}
    for row in fetch_rows(
        BillableCharge.objects.select_for_update()
        .filter(
            account_id__in=account_ids,
            bill__isnull=True,
            charge_date__lte=max(r.cutoff_date for r in requests),
        )
        .order_by("account_id", "charge_date", "id")
        .values_list("id", "account_id", "charge_date", "description", "amount")
    ):
        charges.setdefault(row[1], []).append(row)
    bills, taken = [], []
    for request in requests:
        regular = types[request.type_id].bill_generation == Bill.Kind.REGULAR
        mine = [c for c in charges.get(request.account_id, ()) if c[2] <= request.cutoff_date]
        taken.append(mine)
        bills.append(
            Bill(
                tenant_id=request.tenant_id,
                account_id=request.account_id,
                kind=Bill.Kind.REGULAR if regular else Bill.Kind.TRIAL,
                status=Bill.Status.POSTED if regular else Bill.Status.DRAFT,
                cutoff_date=request.cutoff_date,
                bill_date=request.bill_date,
                accounting_date=request.accounting_date,
                total=sum((c[4] for c in mine), Decimal("0.00")),
                line_count=len(mine),
            )
        )
    Bill.objects.bulk_create(bills)
    insert_rows(
        BillLine,
        ("tenant", "bill", "position", "charge", "charge_date", "description", "amount"),
        (
            (bill.tenant_id, bill.pk, i, c[0], c[2], c[3], c[4])
            for bill, mine in zip(bills, taken, strict=True)
            for i, c in enumerate(mine, start=1)
        ),
    )
    # Charges are not state machines: one set-based write is the honest one here. They are
    # locked and were unbilled when read; `still_null` re-checks it in the write itself.
    takes = [
        BillableCharge(pk=c[0], bill_id=bill.pk)
        for bill, mine in zip(bills, taken, strict=True)
        if bill.kind == Bill.Kind.REGULAR
        for c in mine
    ]
    if update_rows(BillableCharge, takes, ["bill"], still_null=["bill"]) != len(takes):
        raise DomainError("charges changed while the bills were cut; retry the requests.")
    by_request = {r.pk: b for r, b in zip(requests, bills, strict=True)}
    transition_apply_many(
        actor=actor,
        model=InvoiceRequest,
        pks=list(by_request),
        name="processed",
        scope=S.INVOICING_REQUEST_CREATE,
        kwargs_by_pk={pk: {"bill": b} for pk, b in by_request.items()},
        payload_by_pk={
            pk: {"bill": b.pk, "kind": b.kind, "lines": b.line_count, "total": str(b.total)}
            for pk, b in by_request.items()
        },
    )
    bills_posted_emit(tenant=actor.tenant, pairs=list(zip(requests, bills, strict=True)))
    bill_ids = [b.pk for b in bills]
    transaction.on_commit(lambda: queue.enqueue("invoicing.tasks.bills_render_pdf", bill_ids))
    return [
        {
            "request": pk,
            "bill": b.pk,
            "kind": b.kind,
            "lines": b.line_count,
            "total": str(b.total),
        }
        for pk, b in by_request.items()
    ]


def invoice_requests_process_due(*, tenant, business_date: date) -> dict:
    """Process every PENDING request (online or deferred) due on or before the business date.

    Chunks of requests are cut together (`_cut_bills`); a chunk that fails is rolled back and
    its requests are processed one at a time, so only the failing one goes to ERROR.
    """
    actor = Actor.system_for(tenant)
    due = list(
        InvoiceRequest.objects.filter(
            tenant=tenant, status=Status.PENDING, processing_date__lte=business_date
        )
        .order_by("processing_date", "id")
        .values_list("pk", "account_id")
    )
    processed, errors = [], []
    for chunk in _waves(due, CHUNK):
        try:
            with transaction.atomic():
                processed.extend(_cut_bills(actor, chunk, business_date))
            continue
        except Exception as exc:  # noqa: BLE001 - retried one by one below
            log.warning(
                "invoice request chunk failed; processing one by one",
                extra={"requests": len(chunk), "error_class": type(exc).__name__},
            )
        for pk in chunk:
            request = invoice_request_process(
                actor=actor, request_id=pk, business_date=business_date
            )
            if request.status == Status.PROCESSED and request.bill_id:
                bill = request.bill
                processed.append(
                    {
                        "request": request.pk,
                        "bill": bill.pk,
                        "kind": bill.kind,
                        "lines": bill.line_count,
                        "total": str(bill.total),
                    }
                )
            elif request.status == Status.ERROR:
                errors.append({"request": request.pk, "error": request.error})
    order = {pk: i for i, (pk, _) in enumerate(due)}
    processed.sort(key=lambda item: order[item["request"]])
    return {"processed": processed, "errors": errors}


# --- PDF ------------------------------------------------------------------------------------


def bill_lines_csv(bill: Bill) -> bytes:
    """Every line of the bill as CSV (through core's formula-safe writer)."""
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(["position", "charge_date", "description", "amount"])
    for line in bill.lines.order_by("position").iterator(chunk_size=2000):
        writer.writerow(
            [line.position, line.charge_date.isoformat(), line.description, str(line.amount)]
        )
    return out.getvalue().encode("utf-8")


def bill_render_pdf(*, bill_id: int) -> Bill:
    """Render the bill's summary PDF (first lines; every line in an attached CSV); idempotent."""
    with transaction.atomic():
        # the bill's row lock makes a second render of it (a task handed out twice) wait, then
        # find the PDF there
        bill = (
            Bill.objects.select_for_update(of=("self",))
            .select_related("account", "tenant")
            .get(pk=bill_id)
        )
        if bill.pdf:
            return bill
        return _bill_render(bill)


def bill_pdf_give_up(*, bill_id: int, reason: str) -> Bill:
    """Give up on a bill's PDF whose render never finished (the watchdog's last try): the reason
    is kept on the bill and audited as BILL_PDF_FAILED; the bill, its lines and total stand."""
    with transaction.atomic():
        bill = Bill.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=bill_id)
        if bill.pdf or bill.pdf_error:  # rendered meanwhile, or given up on already
            return bill
        bill.pdf_error = reason[: Bill._meta.get_field("pdf_error").max_length]
        Bill.objects.filter(pk=bill.pk).update(pdf_error=bill.pdf_error)
        audit_record(
            tenant=bill.tenant,
            actor=Actor.system_for(bill.tenant),
            action="BILL_PDF_FAILED",
            obj=bill,
            reason=reason,
        )
    return bill


def _bill_render(bill: Bill) -> Bill:
    from weasyprint import HTML, Attachment

    lines = list(bill.lines.order_by("position")[:PDF_LINES])
    html = render_to_string(
        "invoicing/bill_pdf.html",
        {
            "bill": bill,
            "lines": lines,
            "more": max(bill.line_count - len(lines), 0),
        },
    )
    attachments = []
    if bill.line_count > len(lines):
        attachments.append(
            Attachment(string=bill_lines_csv(bill), name=f"bill-{bill.pk}-lines.csv")
        )
    pdf = HTML(string=html).write_pdf(attachments=attachments)
    bill.pdf.save(f"bill-{bill.pk}.pdf", ContentFile(pdf), save=False)
    Bill.objects.filter(pk=bill.pk).update(pdf=bill.pdf.name)
    return bill
