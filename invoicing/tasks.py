"""django-q2 entry points of invoicing: ids in, one service call each, idempotent."""

from datetime import date

from django.utils import timezone


def invoice_request_process(tenant_id: int, request_id: int, business_date: str) -> str:
    """Process one ONLINE request that is due (queued when it became PENDING)."""
    from core.actors import Actor
    from core.models import Tenant
    from invoicing.models import InvoiceRequest
    from invoicing.services.processing import invoice_request_process as process

    tenant = Tenant.objects.get(pk=tenant_id)
    request = InvoiceRequest.objects.filter(pk=request_id, tenant=tenant).first()
    if request is None or request.processing_mode != InvoiceRequest.ProcessingMode.ONLINE:
        return "skipped"
    done = process(
        actor=Actor.system_for(tenant),
        request_id=request_id,
        business_date=date.fromisoformat(business_date),
    )
    return done.status


def process_due_requests() -> dict:
    """Nightly: every tenant's PENDING requests (online and deferred) due today."""
    from core.models import Tenant
    from invoicing.services.processing import invoice_requests_process_due

    today = timezone.localdate()
    counts = {}
    for tenant in Tenant.objects.order_by("slug"):
        result = invoice_requests_process_due(tenant=tenant, business_date=today)
        counts[tenant.slug] = {k: len(v) for k, v in result.items()}
    return counts


def bill_render_pdf(bill_id: int) -> str:
    """Render a bill's PDF once."""
    from invoicing.services.processing import bill_render_pdf as render

    return render(bill_id=bill_id).pdf.name


def bills_render_pdf(bill_ids: list[int]) -> int:
    """Render the PDFs of the bills a batch cut (one task per chunk); each once."""
    from invoicing.services.processing import bill_render_pdf as render

    for bill_id in bill_ids:
        render(bill_id=bill_id)
    return len(bill_ids)
