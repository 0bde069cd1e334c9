"""Ingestion downloads: a template CSV per kind, and the batch list as CSV (what the list shows)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import scopes as S
from core.listexport import csv_lines, csv_response
from core.views import tenant_view
from ingestion import selectors
from ingestion.registry import get_handler
from ingestion.views import list_filters

EXPORT_HEADER = [
    "id",
    "kind",
    "format",
    "filename",
    "status",
    "total",
    "processed",
    "pending",
    "percent",
    "success",
    "updated",
    "error",
    "skipped",
    "failure",
    "received_at",
    "created_by",
    "finished_at",
]


@tenant_view(S.INGESTION_READ)
def kind_template(request: HttpRequest, kind: str) -> HttpResponse:
    """A CSV with the kind's columns and one example row, to fill in and upload."""
    handler = get_handler(kind.upper())
    if handler is None:
        return render(request, "core/not_found.html", {"what": f"Kind {kind}"}, status=404)
    body = "".join(
        csv_lines(list(handler.columns), [[handler.example.get(c, "") for c in handler.columns]])
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{handler.kind.lower()}-template.csv"'
    return response


def _rows(batches):
    for b in batches.iterator(chunk_size=2000):
        yield [
            b.pk,
            b.kind,
            b.format,
            b.artifact.filename if b.artifact else "",
            b.status,
            b.total if b.total_known else None,
            b.processed,
            b.pending if b.total_known else None,
            b.percent,
            b.success,
            b.updated,
            b.error,
            b.skipped,
            b.failure,
            b.received_at.isoformat(),
            b.created_by.username if b.created_by else "",
            b.finished_at.isoformat() if b.finished_at else "",
        ]


@tenant_view(S.INGESTION_READ)
def batch_export(request: HttpRequest) -> HttpResponse:
    """The batch list with its filters as a streamed CSV (codes, not labels)."""
    f, _ = list_filters(request)
    batches = selectors.batch_list(request.actor, status=f["status"], kind=f["kind"])
    return csv_response("batches.csv", EXPORT_HEADER, _rows(batches))
