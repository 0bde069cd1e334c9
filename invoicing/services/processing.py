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
from core.exceptions import DomainError
from core.transitions import transition_apply
from invoicing.models import Account, Bill, BillableCharge, BillLine, InvoiceRequest

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


def invoice_request_process(
    *, actor: Actor, request_id: int, business_date: date | None = None
) -> InvoiceRequest:
    """Cut the bill of a PENDING request (due on the business date, if given); ERROR on failure.

    Idempotent: a request no longer PENDING, or not yet due, is returned unchanged.
    """
    actor.require(S.INVOICING_REQUEST_CREATE)
    request = (
        InvoiceRequest.objects.filter(pk=request_id, tenant=actor.tenant)
        .select_related("type")
        .first()
    )
    if request is None or request.status != Status.PENDING:
        return request
    if business_date is not None and request.processing_date > business_date:
        return request
    try:
        with transaction.atomic():
            locked = InvoiceRequest.objects.select_for_update().get(pk=request.pk)
            if locked.status != Status.PENDING:  # another worker got there first
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


def bill_summary(bill: Bill | None) -> dict | None:
    """{"id", "kind", "lines", "total"} of a bill (commands and API)."""
    if bill is None:
        return None
    return {"id": bill.pk, "kind": bill.kind, "lines": bill.line_count, "total": str(bill.total)}


def invoice_requests_process_due(*, tenant, business_date: date) -> dict:
    """Process every PENDING request (online or deferred) due on or before the business date."""
    actor = Actor.system_for(tenant)
    due = list(
        InvoiceRequest.objects.filter(
            tenant=tenant, status=Status.PENDING, processing_date__lte=business_date
        )
        .order_by("processing_date", "id")
        .values_list("pk", flat=True)
    )
    processed, errors = [], []
    for pk in due:
        request = invoice_request_process(actor=actor, request_id=pk, business_date=business_date)
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
    from weasyprint import HTML, Attachment

    bill = Bill.objects.select_related("account", "tenant").get(pk=bill_id)
    if bill.pdf:
        return bill
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
