"""Override-rate report screen (issue 14 item 6) under /claims/overrides/report/, and its CSV.

Thin: filters are parsed strictly (core.months), the figures come from
denials.services.override_report; every row links to its audit entries on /audit/.
"""

from __future__ import annotations

from collections import defaultdict

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from billing import charts as billing_charts
from core import scopes as S
from core.audit import audit_record
from core.listexport import csv_response
from core.months import MonthError, parse_month
from core.views import tenant_view
from denials.charts_overrides import kind_columns
from denials.reporting_overrides import KINDS
from denials.selectors_screens_rec import months_back
from denials.services import override_report as report
from denials.services.reporting import reporting_refreshed_at
from denials.views_jobs import _subnav

FILTERS = ("month_from", "month_to", "kind", "payer", "user")


def _filters(request: HttpRequest) -> tuple[dict, dict]:
    """The report's filters from the query (strict months, a known kind), and their errors."""
    q = request.GET
    errors: dict[str, str] = {}
    f: dict = {
        "payer": (q.get("payer") or "").strip()[:30].replace("\x00", ""),
        "user": (q.get("user") or "").strip()[:150].replace("\x00", ""),
        "kind": (q.get("kind") or "").strip(),
    }
    if f["kind"] and f["kind"] not in KINDS:
        errors["kind"] = f"'{f['kind'][:30]}' is not one of {', '.join(KINDS)}"
        f["kind"] = ""
    for name in ("month_from", "month_to"):
        text = (q.get(name) or "").strip()
        f[name] = None
        if text:
            try:
                f[name] = parse_month(text)
            except MonthError as exc:
                errors[name] = str(exc)
    if not f["month_from"] and not f["month_to"] and not errors:
        f["month_from"] = months_back(timezone.localdate(), 12)  # a year by default
    if f["month_from"] and f["month_to"] and f["month_from"] > f["month_to"]:
        errors["month_to"] = "must not be before the first month"
    return f, errors


def _report(request: HttpRequest, f: dict) -> report.OverrideReport:
    return report.override_report(
        request.actor,
        month_from=f["month_from"],
        month_to=f["month_to"],
        kind=f["kind"],
        payer=f["payer"],
        user=f["user"],
    )


@tenant_view(S.AUDIT_READ)
def override_report(request: HttpRequest) -> HttpResponse:
    """Override counts and rates by month and kind, by user and by payer, with charts."""
    f, errors = _filters(request)
    data = _report(request, f) if not errors else report.OverrideReport([], [], [], [])
    kinds = [(k, label) for k, (label, _, _) in KINDS.items()]
    by_month: dict = defaultdict(dict)
    for t in data.totals:
        by_month[t.month][t.kind] = t.overrides
    points = [(m.strftime("%b %y"), v) for m, v in sorted(by_month.items())][-18:]
    per_user: dict[str, int] = defaultdict(int)
    for u in data.by_user:
        per_user[u.user] += u.overrides
    user_items = [
        (name, name, n, f"{n} override{'s' if n != 1 else ''}")
        for name, n in sorted(per_user.items(), key=lambda i: (-i[1], i[0]))[:15]
    ]
    query = {k: request.GET[k] for k in FILTERS if request.GET.get(k)}
    return render(
        request,
        "denials/override_report.html",
        {
            "subnav": _subnav(),
            "data": data,
            "kinds": kinds,
            "kind_chart": kind_columns(points, kinds),
            "user_chart": billing_charts.bars(user_items),
            "refreshed_at": reporting_refreshed_at(),
            "payers": report.visible_payers(request.actor),
            "f": {
                **f,
                "month_from": request.GET.get("month_from", "")
                or (f"{f['month_from']:%Y-%m}" if f["month_from"] else ""),
                "month_to": request.GET.get("month_to", ""),
            },
            "errors": errors,
            "export_query": urlencode(query),
        },
        status=400 if errors else 200,
    )


@tenant_view(S.AUDIT_READ)
def override_report_csv(request: HttpRequest) -> HttpResponse:
    """The report's rows (same filters) as CSV: per payer (empty user) and per user and payer;
    the download is audited."""
    f, errors = _filters(request)
    if errors:
        text = "; ".join(f"{k}: {v}" for k, v in errors.items())
        return HttpResponse(text, status=400, content_type="text/plain")
    data = _report(request, f)
    actor = request.actor
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="EXPORT_DOWNLOADED",
        object_type="denials.OverrideReport",
        payload={"export": "override_report", "filters": {k: str(v) for k, v in f.items() if v}},
    )
    return csv_response("override-report.csv", report.CSV_HEADER, report.csv_rows(data))
