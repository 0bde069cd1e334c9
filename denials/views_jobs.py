"""Job health and reconciliation screens (issue 13 item 12) under /claims/."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from billing import charts as billing_charts
from billing.models import Payer
from core import scopes as S
from core.exceptions import DomainError
from core.listexport import csv_response
from core.months import MonthError, parse_date, parse_month
from core.selectors import granted_ids
from core.views import tenant_view
from denials.api.views_jobs import aging_data
from denials.charts_jobs import stacked_money_columns
from denials.models import ClaimAlert, JobRun
from denials.services import reporting
from denials.services.jobs import JOBS, jobs_enabled, jobs_run_nightly, last_runs, open_alerts

SUBNAV = "denials/_subnav.html"  # the claims sub-navigation (shown once it exists)
RECENT_RUNS = 50


def _subnav() -> str:
    try:
        get_template(SUBNAV)
    except TemplateDoesNotExist:
        return ""
    return SUBNAV


def claim_url(number: str) -> str:
    """The claim detail screen (the charges part's `denials:claim`), "" until it exists."""
    try:
        return reverse("denials:claim", kwargs={"number": number})
    except NoReverseMatch:
        return ""


def visible_alerts(actor):
    """Open claim alerts of the claims the actor's payer grants let them see."""
    qs = open_alerts(actor.tenant)
    payer_ids = granted_ids(actor, Payer)
    return qs if payer_ids is None else qs.filter(claim__payer_id__in=payer_ids)


@tenant_view(S.CLAIMS_VIEW)
def job_health(request: HttpRequest) -> HttpResponse:
    """The last run of each job, recent runs with durations and failures, open claim alerts."""
    actor = request.actor
    tenant = actor.tenant
    since = timezone.now() - timezone.timedelta(days=7)
    failures = JobRun.objects.filter(tenant=tenant, started_at__gte=since).aggregate(
        failed=Count("pk", filter=Q(status=JobRun.Status.FAILED)), runs=Count("pk")
    )
    alerts = visible_alerts(actor)
    last = {r.job: r for r in last_runs(tenant)}
    by_kind = dict(alerts.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    return render(
        request,
        "denials/jobs.html",
        {
            "subnav": _subnav(),
            "jobs": [{"job": j, "last": last.get(j.name)} for j in JOBS.values()],
            "runs": JobRun.objects.filter(tenant=tenant)[:RECENT_RUNS],
            "failures": failures,
            "alerts": [
                (a, claim_url(a.claim.number)) for a in alerts.order_by("-raised_on", "-pk")[:100]
            ],
            "alert_count": sum(by_kind.values()),
            "alert_kinds": [(label, by_kind.get(k, 0)) for k, label in ClaimAlert.Kind.choices],
            "enabled": jobs_enabled(),
            "can_run": actor.has(S.CLAIMS_WRITE),
            "today": timezone.localdate(),
        },
    )


@tenant_view(S.CLAIMS_VIEW, post_scope=S.CLAIMS_WRITE)
def job_run(request: HttpRequest) -> HttpResponse:
    """Run the nightly jobs now (all, or the one chosen), after a confirmation."""
    if request.method != "POST":
        return redirect("denials:jobs")
    job = request.POST.get("job") or None
    try:
        today = parse_date(request.POST["today"]) if request.POST.get("today") else None
        runs = jobs_run_nightly(
            tenant=request.actor.tenant, job=job, today=today, actor=request.actor
        )
    except MonthError as exc:
        messages.error(request, f"Day: {exc}.")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        failed = [r.job for r in runs if r.status == JobRun.Status.FAILED]
        text = f"Ran {len(runs)} job{'s' if len(runs) != 1 else ''}"
        if failed:
            messages.error(request, f"{text}; failed: {', '.join(failed)}.")
        else:
            messages.success(request, f"{text}; all succeeded.")
    return redirect("denials:jobs")


def _month_filter(request, name: str, errors: dict):
    text = (request.GET.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_month(text)
    except MonthError as exc:
        errors[name] = str(exc)
        return None


RECON_HEADER = [
    "payer",
    "month",
    "claims",
    "billed",
    "paid",
    "adjusted",
    "patient_responsibility",
    "written_off",
    "open",
]


@tenant_view(S.CLAIMS_VIEW)
def reconciliation_csv(request: HttpRequest) -> HttpResponse:
    """The reconciliation rows the screen shows (same payer and month filters), as CSV."""
    errors: dict[str, str] = {}
    payer = (request.GET.get("payer") or "").strip()[:30].replace("\x00", "")
    month_from = _month_filter(request, "month_from", errors)
    month_to = _month_filter(request, "month_to", errors)
    if errors:
        return redirect("denials:reconciliation")
    rows = reporting.reconciliation(
        request.actor, payer=payer, month_from=month_from, month_to=month_to
    )
    lines = (
        [r.payer, r.month.strftime("%Y-%m"), r.claims, r.billed, r.paid, r.adjusted]
        + [r.patient_responsibility, r.written_off, r.open]
        for r in rows
    )
    return csv_response("claim-reconciliation.csv", RECON_HEADER, lines)


@tenant_view(S.CLAIMS_VIEW)
def reconciliation(request: HttpRequest) -> HttpResponse:
    """Reconciliation by payer and service month, with its chart, and the receivables aging."""
    actor = request.actor
    errors: dict[str, str] = {}
    payer = (request.GET.get("payer") or "").strip()[:30].replace("\x00", "")
    month_from = _month_filter(request, "month_from", errors)
    month_to = _month_filter(request, "month_to", errors)
    as_of = timezone.localdate()
    if request.GET.get("as_of"):
        try:
            as_of = parse_date(request.GET["as_of"].strip())
        except MonthError as exc:
            errors["as_of"] = str(exc)
    rows = reporting.reconciliation(actor, payer=payer, month_from=month_from, month_to=month_to)
    by_month: dict = {}
    for r in rows:
        m = by_month.setdefault(r.month, dict.fromkeys(reporting.MONEY_FIELDS, 0))
        for f in reporting.MONEY_FIELDS:
            m[f] += getattr(r, f)
    points = [(m.strftime("%b %y"), v) for m, v in sorted(by_month.items())][-18:]
    aging = aging_data(reporting.aging(actor, as_of=as_of, payer=payer), as_of)
    aging_items = [
        (
            b["bucket"],
            f"{b['bucket']} days",
            b["amount"],
            f"{billing_charts.money_text(b['amount'])} · {b['claims']} claims",
        )
        for b in aging["totals"]
    ]
    return render(
        request,
        "denials/reconciliation.html",
        {
            "subnav": _subnav(),
            "rows": rows,
            "totals": reporting.reconciliation_totals(rows),
            "chart": stacked_money_columns(points),
            "aging": aging,
            "aging_chart": billing_charts.bars(aging_items),
            "refreshed_at": reporting.reporting_refreshed_at(),
            "payers": Payer.objects.filter(tenant=actor.tenant).order_by("code")
            if granted_ids(actor, Payer) is None
            else Payer.objects.filter(pk__in=granted_ids(actor, Payer)).order_by("code"),
            "f": {
                "payer": payer,
                "month_from": request.GET.get("month_from", ""),
                "month_to": request.GET.get("month_to", ""),
                "as_of": as_of.isoformat(),
            },
            "errors": errors,
            "export_query": urlencode(
                {
                    k: request.GET[k]
                    for k in ("payer", "month_from", "month_to")
                    if request.GET.get(k)
                }
            ),
        },
    )
