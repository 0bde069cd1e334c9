"""Billing screens: rule versions and member-month overrides."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from billing import selectors
from billing.services import overrides, rules
from billing.views import rule_forms
from billing.views.common import month_input
from billing.views.forms import field_errors
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.views import tenant_view

REGENERATE_REASONS = [
    ("corrected eligibility", "Corrected eligibility (an amended file arrived)"),
    ("rule amendment", "Rule amendment (the calculation changed)"),
    ("manual override", "Manual override to apply retroactively"),
]


# --- rule versions ------------------------------------------------------------------------


def rule_confirm_text(rv, payer_versions: list) -> str:
    """What activating (a draft) or retiring (an active version) changes, and from when."""
    since = f"{rv.effective_from:%Y-%m-%d}"
    active = [
        v
        for v in payer_versions
        if v.status == "ACTIVE" and v.pk != rv.pk and v.effective_from <= rv.effective_from
    ]
    before = max(active, key=lambda v: (v.effective_from, v.pk), default=None)
    name = f"{rv.payer.code} {rule_forms.version_name(rv.version)}"
    prior = rule_forms.version_name(before.version) if before else ""
    if rv.status == "DRAFT":
        if before is None:
            return f"Activate {name}: runs of months from {since} on use it."
        return (
            f"Activate {name}: from {since} it replaces {prior} "
            f"(in force since {before.effective_from:%Y-%m-%d}) for runs of those months."
        )
    if rv.status == "ACTIVE":
        if before is None:
            return (
                f"Retire {name} (in force since {since}): no active version is left for months "
                f"from {since}; runs of {rv.payer.code} for them stop with 'No rule version'."
            )
        return (
            f"Retire {name} (in force since {since}): from {since} {prior} "
            f"(in force since {before.effective_from:%Y-%m-%d}) applies again."
        )
    return ""


def _describe_drafts(versions: list) -> None:
    """Each draft's changes against the payer's active version and its activation summary."""
    active = max(
        (v for v in versions if v.status == "ACTIVE"),
        key=lambda v: (v.effective_from, v.pk),
        default=None,
    )
    for rv in versions:
        rv.name = rule_forms.version_name(rv.version)
        if rv.status == "DRAFT":
            rv.active = active
            rv.changes = rule_forms.params_diff(active.params, rv.params) if active else []
            rv.activation_summary = rule_forms.activation_summary(rv, active)


@tenant_view(S.BILLING_RUN_VIEW, post_scope=S.BILLING_RULES_MANAGE)
def rule_list(request: HttpRequest) -> HttpResponse:
    """Rule versions per payer, params readable, a diff of two, activate and retire."""
    actor = request.actor
    if request.method == "POST":
        pk, action = request.POST.get("rule_version"), request.POST.get("action")
        try:
            selectors.rule_version_get(actor, int(pk or 0))
            fn = rules.rule_version_activate if action == "activate" else rules.rule_version_retire
            rv = fn(actor=actor, rule_version_id=int(pk))
            messages.success(
                request, f"{rv.payer.code} v{rv.version} is now {rv.get_status_display().lower()}."
            )
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "Invalid request."))
        return redirect("billing:rules")
    versions = list(selectors.rule_version_list(actor))
    by_payer: dict[str, list] = defaultdict(list)
    for rv in versions:
        rv.flat = rule_forms.flatten(rv.params)
        by_payer[rv.payer.code].append(rv)
    for payer_versions in by_payer.values():
        _describe_drafts(payer_versions)
        for rv in payer_versions:
            rv.confirm = rule_confirm_text(rv, payer_versions)
            if rv.status == "DRAFT":
                rv.confirm = rule_forms.activation_summary(rv, rv.active, head=rv.confirm)
    diff = None
    a, b = request.GET.get("a"), request.GET.get("b")
    if a and b:
        try:
            left, right = (
                selectors.rule_version_get(actor, int(a)),
                selectors.rule_version_get(actor, int(b)),
            )
            fl, fr = rule_forms.flatten(left.params), rule_forms.flatten(right.params)
            diff = {
                "left": left,
                "right": right,
                "rows": [
                    (key, fl.get(key, "—"), fr.get(key, "—"), fl.get(key) != fr.get(key))
                    for key in sorted(set(fl) | set(fr))
                ],
            }
        except (NotFound, ValueError):
            messages.error(request, "Choose two rule versions to compare.")
    return render(
        request,
        "billing/rules.html",
        {
            "by_payer": sorted(by_payer.items()),
            "versions": versions,
            "diff": diff,
            "can_manage": actor.has(S.BILLING_RULES_MANAGE),
        },
    )


# --- overrides ----------------------------------------------------------------------------


@tenant_view(S.BILLING_RUN_VIEW, post_scope=S.BILLING_OVERRIDE_CREATE)
def override_list(request: HttpRequest) -> HttpResponse:
    """Member-month overrides: the list and a form (dual control sends it to Approvals)."""
    actor = request.actor
    if request.method == "POST":
        p = request.POST
        try:
            month = month_input(p.get("month"))
            outcome = overrides.member_month_override_request(
                actor=actor,
                payer_code=p.get("payer", ""),
                member_external_id=p.get("member", "").strip(),
                month=month,
                outcome=p.get("outcome", ""),
                rate=p.get("rate", "").strip() or None,
                reason=p.get("reason", ""),
            )
        except DomainError as exc:
            # the form again, as typed, with the refusal beside the field it is about
            errors = field_errors(exc, OVERRIDE_FIELDS, default="general")
            return _override_page(request, errors=errors, status=exc.http_status)
        if outcome.executed:
            messages.success(request, "Override applied; the next run (or a regeneration) uses it.")
        else:
            messages.success(
                request,
                f"Override request #{outcome.request.pk} waits for a second person's approval.",
            )
        return redirect("billing:overrides")
    return _override_page(request)


OVERRIDE_FIELDS = ("payer", "member", "month", "outcome", "rate", "reason")


def _override_page(request: HttpRequest, errors: dict | None = None, status: int = 200):
    actor = request.actor
    this_month = timezone.localdate().strftime("%Y-%m")
    typed = request.POST if request.method == "POST" else {}
    form = {key: typed.get(key, "") for key in OVERRIDE_FIELDS}
    form["month"] = form["month"] or this_month
    return render(
        request,
        "billing/overrides.html",
        {
            "page": Paginator(selectors.override_list(actor), 50).get_page(request.GET.get("page")),
            "payers": selectors.visible_payers(actor).order_by("code"),
            "can_create": actor.has(S.BILLING_OVERRIDE_CREATE),
            "this_month": this_month,
            "form": form,
            "errors": errors or {},
        },
        status=status,
    )
