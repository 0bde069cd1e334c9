"""Billing screens: compare a run with another run of its month (totals, matrix, changes, CSV)."""

from __future__ import annotations

from decimal import Decimal
from math import ceil
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse

from billing import comparison, diff, selectors
from billing.services import compare as compare_services
from billing.views.common import not_found
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.labels import label_for
from core.listexport import csv_response
from core.views import tenant_view

PAGE_SIZE = 50
FILTER_KEYS = ("with", "kind", "from", "to")


def _label(code: str) -> str:
    return "Not in the run" if code == diff.ABSENT else label_for(code)


def _member_linker():
    """billing:member links when that screen exists (added by another area), else none."""
    cache: dict = {}

    def link(member_id: int) -> str:
        if cache.get("missing"):
            return ""
        try:
            return reverse("billing:member", args=[member_id])
        except NoReverseMatch:
            cache["missing"] = True
            return ""

    return link


def _query(q, **changes) -> str:
    params = {k: q.get(k, "") for k in FILTER_KEYS}
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _matrix(tally: diff.Tally, q) -> dict:
    table = comparison.matrix_table(tally)
    rows = []
    for old, counts in zip(table["rows"], table["counts"], strict=True):
        cells = [
            {
                "count": n,
                "to": new,
                "same": old == new,
                "url": f"?{_query(q, kind='', **{'from': old, 'to': new})}#changes",
            }
            for new, n in zip(table["columns"], counts, strict=True)
        ]
        rows.append({"code": old, "label": _label(old), "cells": cells, "total": sum(counts)})
    columns = [{"code": c, "label": _label(c)} for c in table["columns"]]
    col_totals = [sum(col) for col in zip(*table["counts"], strict=True)] if rows else []
    return {"rows": rows, "columns": columns, "totals": col_totals}


def _class_delta_chart(tally: diff.Tally) -> dict:
    new, old = {}, {}
    for (o, n), count in tally.matrix.items():
        old[o] = old.get(o, 0) + count
        new[n] = new.get(n, 0) + count
    items = [
        (_label(c), new.get(c, 0) - old.get(c, 0))
        for c in comparison.CLASS_ORDER
        if c != diff.ABSENT and (new.get(c) or old.get(c))
    ]
    return diff.delta_bars(items)


def _totals(tally: diff.Tally) -> list[dict]:
    t = tally.totals()
    rows = [
        {"id": "members", "label": "Members", "money": False, **t["members"]},
        {"id": "billable", "label": "Billable members", "money": False, **t["billable_members"]},
        {"id": "charge", "label": "Total charge", "money": True, **t["total_charge"]},
    ]
    for row in rows:
        row["plus"] = Decimal(str(row["delta"])) > 0
    return rows


def _change_rows(changes: list[diff.Change]) -> list[dict]:
    member_url = _member_linker()
    return [
        {
            "payer": c.any.payer_code,
            "member": c.any.member_external_id,
            "member_url": member_url(c.any.member_id),
            "month": c.any.month,
            "kind": c.kind,
            "old": c.old,
            "new": c.new,
            "old_label": _label(c.old_class),
            "new_label": _label(c.new_class),
            "delta": c.delta,
        }
        for c in changes
    ]


@tenant_view(S.BILLING_RUN_VIEW)
def run_compare(request: HttpRequest, pk: int) -> HttpResponse:
    """A run against another of its month: totals delta, transition matrix, changed members."""
    actor = request.actor
    try:
        run = selectors.run_get(actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    q = request.GET.copy()
    if "with" not in q:
        default = comparison.comparison_default(actor, run)
        q["with"] = str(default.pk) if default else ""
    candidates = comparison.comparison_candidates(actor, run).prefetch_related("run_payers__payer")[
        :100
    ]
    context = {
        "run": run,
        "candidates": candidates,
        "f": q,
        "classes": [(c, _label(c)) for c in comparison.CLASS_ORDER],
        "error": "",
    }
    if not q["with"]:
        return render(request, "billing/compare.html", context)
    try:
        pair = comparison.comparison_pair(actor, run, q["with"])
        filters = comparison.clean_filters(q.get("kind", ""), q.get("from", ""), q.get("to", ""))
    except DomainError as exc:
        context["error"] = exc.message
        return render(request, "billing/compare.html", context, status=exc.http_status)
    try:
        number = max(int(q.get("page") or 1), 1)
    except ValueError:
        number = 1
    tally, changes = comparison.comparison_scan(
        actor, pair, filters=filters, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(ceil(tally.kept / PAGE_SIZE), 1)
    context.update(
        {
            "pair": pair,
            "tally": tally,
            "kinds": [(k, diff.KIND_LABELS[k], tally.by_kind[k]) for k in diff.KINDS],
            "totals": _totals(tally),
            "matrix": _matrix(tally, q),
            "chart": _class_delta_chart(tally),
            "changes": _change_rows(changes),
            "filtered": any(filters.values()),
            "page": {
                "number": number,
                "pages": pages,
                "count": tally.kept,
                "previous": f"?{_query(q, page=number - 1)}#changes" if number > 1 else "",
                "next": f"?{_query(q, page=number + 1)}#changes" if number < pages else "",
            },
            "csv_url": f"{reverse('billing:run-compare-csv', args=[run.pk])}?{_query(q)}",
        }
    )
    return render(request, "billing/compare.html", context)


@tenant_view(S.BILLING_RUN_VIEW)
def run_compare_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The changed member-months as CSV (the screen's filters apply), streamed and audited."""
    actor = request.actor
    q = request.GET
    try:
        run = selectors.run_get(actor, pk)
    except NotFound:
        return not_found(request, f"Billing run {pk}")
    try:
        pair = comparison.comparison_pair(actor, run, q.get("with"))
        filters = comparison.clean_filters(q.get("kind", ""), q.get("from", ""), q.get("to", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('billing:run-compare', args=[pk])}?{_query(q)}")
    header, rows = compare_services.comparison_export_rows(actor=actor, pair=pair, filters=filters)
    return csv_response(compare_services.comparison_filename(pair), header, rows)
