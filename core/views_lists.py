"""The audit trail and the dual-control approvals queue: filters in the URL, CSV exports."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date

from core import approvals, selectors
from core import scopes as S
from core.audit import audit_record, iso_utc, verify_chain
from core.exceptions import DomainError
from core.listexport import csv_response
from core.models import AuditChainHead, OverrideRequest
from core.months import MonthError, parse_month
from core.overrides import override_request_approve, override_request_reject
from core.views import tenant_view

AUDIT_COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "reason",
    "payload",
    "hash",
]
OVERRIDE_COLUMNS = [
    "id",
    "action",
    "scope",
    "summary",
    "reason",
    "status",
    "requested_by",
    "requested_at",
    "expires_at",
    "decided_by",
    "decided_at",
    "decision_note",
]


def _query_without_page(q: QueryDict) -> str:
    query = q.copy()
    query.pop("page", None)
    return query.urlencode()


def _date(q: QueryDict, name: str, errors: dict) -> date | None:
    raw = (q.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        errors[name] = f"expected a date as YYYY-MM-DD, got '{raw}'"
    return value


def _audit_filters(q: QueryDict) -> tuple[dict, dict]:
    errors: dict = {}
    filters = {
        "action": q.get("action", ""),
        "actor_label": q.get("actor", ""),
        "object_type": q.get("object_type", ""),
        "object_id": q.get("object_id", ""),
        "since": _date(q, "since", errors),
        "until": _date(q, "until", errors),
        "phi_only": q.get("phi") in ("1", "on", "true"),
        "month": _month(q, "month", errors),
        "user": q.get("user", ""),
        "payer": q.get("payer", ""),
    }
    return filters, errors


def _month(q: QueryDict, name: str, errors: dict) -> date | None:
    raw = (q.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_month(raw)
    except MonthError as exc:
        errors[name] = str(exc)
        return None


@tenant_view(S.AUDIT_READ)
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit trail with filters by action, actor, object and date (all in the URL)."""
    q = request.GET
    filters, errors = _audit_filters(q)
    entries = selectors.audit_entry_list(request.actor, **filters)
    page = Paginator(entries, 50).get_page(q.get("page"))
    return render(
        request,
        "core/audit_list.html",
        {
            "page": page,
            "actions": selectors.audit_actions(request.actor),
            "f": q,
            "errors": errors,
            "query": _query_without_page(q),
        },
        status=400 if errors else 200,
    )


@tenant_view(S.AUDIT_READ)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The entries the audit screen shows with the same filters, as CSV (the export is audited)."""
    filters, errors = _audit_filters(request.GET)
    if errors:
        return HttpResponse(
            "; ".join(f"{k}: {v}" for k, v in errors.items()), status=400, content_type="text/plain"
        )
    actor = request.actor
    # what the trail held when asked: the export's own entry is not part of it
    upto = AuditChainHead.objects.get(tenant=actor.tenant).seq
    entries = selectors.audit_entry_list(actor, **filters).filter(seq__lte=upto)
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="EXPORT_DOWNLOADED",
        object_type="core.AuditEntry",
        payload={"export": "audit", "filters": {k: v for k, v in filters.items() if v}},
    )
    rows = (
        [
            e.seq,
            iso_utc(e.at),
            e.actor_label,
            e.action,
            e.object_type,
            e.object_id,
            e.reason,
            json.dumps(e.payload, sort_keys=True),
            e.hash,
        ]
        for e in entries.iterator(chunk_size=2000)
    )
    return csv_response(f"audit-{actor.tenant.slug}.csv", AUDIT_COLUMNS, rows)


@tenant_view(S.AUDIT_READ)
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Verify the chain (an HTMX fragment on the audit screen)."""
    report = verify_chain(request.actor.tenant)
    return render(request, "core/_chain_report.html", {"report": report})


def _override_filters(q: QueryDict) -> dict:
    status = (q.get("status") or "").upper()
    return {
        "status": status if status in OverrideRequest.Status.values else "",
        "action": q.get("action", ""),
    }


@tenant_view()
def override_queue(request: HttpRequest) -> HttpResponse:
    """The dual-control queue: waiting requests oldest first with their age, the stuck ones (over
    24 h) flagged and who may clear each; counts by age band; the decided ones."""
    actor = request.actor
    if request.method == "POST":
        decision = request.POST.get("decision")
        try:
            pk = int(request.POST.get("request", "0"))
            if decision == "approve":
                override_request_approve(
                    actor=actor, request_id=pk, note=request.POST.get("note", "")
                )
                messages.success(request, f"Override request {pk} approved and carried out.")
            elif decision == "reject":
                override_request_reject(
                    actor=actor, request_id=pk, note=request.POST.get("note", "")
                )
                messages.success(request, f"Override request {pk} rejected.")
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "Invalid request."))
        return redirect("override-queue")
    f = _override_filters(request.GET)
    f["stuck"] = request.GET.get("stuck") in ("1", "on", "true")
    f["sort"] = "newest" if request.GET.get("sort") == "newest" else "age"
    pending = approvals.pending_by_age(
        actor, action=f["action"], stuck_only=f["stuck"], newest_first=f["sort"] == "newest"
    )
    decided = selectors.override_request_list(
        actor, status=f["status"], action=f["action"]
    ).exclude(status=OverrideRequest.Status.PENDING)
    return render(
        request,
        "core/override_queue.html",
        {
            "pending": pending if f["status"] in ("", OverrideRequest.Status.PENDING) else [],
            "decided": decided[:50],
            "bands": [
                (label, n)
                for label, n in approvals.band_counts(actor)
                if n or label != approvals.AGE_BANDS[-1][0]
            ],
            "stuck_hours": int(approvals.STUCK_AFTER.total_seconds() // 3600),
            "f": f,
            "statuses": OverrideRequest.Status.choices,
            "actions": sorted(
                set(selectors.override_request_list(actor).values_list("action", flat=True))
            ),
            "query": request.GET.urlencode(),
        },
    )


@tenant_view()
def override_queue_export(request: HttpRequest) -> HttpResponse:
    """The override requests the queue's filters select, as CSV."""
    actor = request.actor
    requests = selectors.override_request_list(actor, **_override_filters(request.GET))

    def when(value):
        return iso_utc(value) if value else ""

    rows = (
        [
            r.pk,
            r.action,
            r.scope,
            r.summary,
            r.reason,
            r.status,
            r.requested_by.username,
            when(r.requested_at),
            when(r.expires_at),
            r.decided_by.username if r.decided_by else "",
            when(r.decided_at),
            r.decision_note,
        ]
        for r in requests.order_by("-requested_at", "-id").iterator(chunk_size=2000)
    )
    return csv_response(f"override-requests-{actor.tenant.slug}.csv", OVERRIDE_COLUMNS, rows)
