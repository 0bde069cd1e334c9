"""Ingestion screens: upload, batches with live counters, detail with correction and retry."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.views import tenant_view
from ingestion import selectors, services
from ingestion.models import Batch, BatchRecord
from ingestion.registry import get_handler, handlers


def list_filters(request: HttpRequest) -> tuple[dict[str, str], dict[str, str]]:
    """The batch list's filters from the query string, and an error per field not understood."""
    q = request.GET
    kinds = [h.kind for h in handlers()]
    f, errors = {}, {}
    for name, allowed in (("status", Batch.Status.values), ("kind", kinds)):
        value = q.get(name, "").strip().upper()
        if value and value not in allowed:
            errors[name] = f"{name}: expected one of {', '.join(allowed)}, found '{value[:40]}'"
            value = ""
        f[name] = value
    return f, errors


def _list_context(request: HttpRequest) -> dict:
    f, errors = list_filters(request)
    batches = selectors.batch_list(request.actor, status=f["status"], kind=f["kind"])
    page = Paginator(batches, 25).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    return {
        "page": page,
        "any_active": any(b.is_active for b in page),
        "statuses": Batch.Status.choices,
        "kinds": [(h.kind, h.kind.replace("_", " ").title()) for h in handlers()],
        "guides": handlers(),
        "f": f,
        "filter_errors": errors,
        "query": query,
    }


@tenant_view(S.INGESTION_READ, post_scope=S.INGESTION_UPDATE)
def batch_list(request: HttpRequest) -> HttpResponse:
    """Upload form and the list of batches (counters refresh live while work runs)."""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "file: choose a file to upload.")
            return redirect("ingestion:batches")
        keys = [
            k for k in request.POST.get("key_fields", "").replace(";", ",").split(",") if k.strip()
        ]
        try:
            services.upload_size_check(upload.size)
            batch = services.batch_ingest_file(
                actor=request.actor,
                kind=request.POST.get("kind", ""),
                filename=upload.name,
                content=upload.read(),
                idempotency_key_fields=keys,
                options={"payer_code": request.POST.get("payer_code", "").strip()},
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("ingestion:batches")
        # A failed file is explained once, by the batch page's notice: no message repeating it.
        if batch.status != Batch.Status.FAILED:
            messages.success(request, f"Batch {batch.pk} created with {batch.total} records.")
        return redirect("ingestion:batch", pk=batch.pk)
    return render(request, "ingestion/batch_list.html", _list_context(request))


@tenant_view(S.INGESTION_READ)
def batch_rows(request: HttpRequest) -> HttpResponse:
    """The batch table alone (HTMX polls it while a batch is running)."""
    return render(request, "ingestion/_batch_rows.html", _list_context(request))


@tenant_view(S.INGESTION_READ)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One batch: counters, progress, records by status, correction and retry."""
    try:
        batch = selectors.batch_get(request.actor, pk)
    except DomainError:
        return render(request, "core/not_found.html", {"what": f"Batch {pk}"}, status=404)
    counts = selectors.status_counts(request.actor, batch)
    default = "ERROR" if counts.get("ERROR") else ""
    status = request.GET.get("status", default)
    records = selectors.record_list_read(request.actor, batch, status=status)
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    handler = get_handler(batch.kind)
    return render(
        request,
        "ingestion/batch_detail.html",
        {
            "batch": batch,
            "counts": counts,
            "status": status,
            "page": page,
            "columns": handler.columns if handler else [],
            "record_statuses": BatchRecord.Status.values,
        },
    )


@tenant_view(S.INGESTION_READ)
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Counters and progress bar (HTMX polls it while the batch runs)."""
    try:
        batch = selectors.batch_get(request.actor, pk)
    except DomainError:
        return HttpResponse(status=404)
    response = render(request, "ingestion/_progress.html", {"batch": batch})
    if not batch.is_active and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # finished: reload once to show the records
    return response


@tenant_view(S.INGESTION_UPDATE)
@require_POST
def batch_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry the ERROR records."""
    try:
        batch = services.batch_retry(actor=request.actor, batch_id=pk)
        messages.success(request, f"Retrying batch {batch.pk}.")
    except NotFound:  # another tenant's batch: 404, like every object URL
        return render(request, "core/not_found.html", {"what": f"Batch {pk}"}, status=404)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("ingestion:batch", pk=pk)


@tenant_view(S.INGESTION_UPDATE)
@require_POST
def record_correct(request: HttpRequest, pk: int, row: int) -> HttpResponse:
    """Save corrected values of one ERROR record (inline form; HTMX swaps the row)."""
    try:
        batch = selectors.batch_get(request.actor, pk)
        handler = get_handler(batch.kind)
        data = {c: request.POST.get(c, "") for c in handler.columns if c in request.POST}
        record = services.batch_record_correct(
            actor=request.actor, batch_id=pk, row_number=row, data=data
        )
        error = ""
    except DomainError as exc:
        record = BatchRecord.objects.filter(
            batch_id=pk, row_number=row, tenant=request.actor.tenant
        ).first()
        error = exc.message
        if record is None:
            return HttpResponse(error, status=404)
    if not request.headers.get("HX-Request"):
        if error:
            messages.error(request, error)
        return redirect("ingestion:batch", pk=pk)
    return render(
        request,
        "ingestion/_record_row.html",
        {
            "r": record,
            "batch": record.batch,
            "columns": handler.columns,
            "error": error,
            "saved": not error,
        },
    )
