"""Billing screens: create a draft rule version from a form (or by copying the active one) and
edit a draft; errors are the schema's own (as `load_rules` names them), beside field or row."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing import selectors
from billing.models import RuleVersion
from billing.services import rule_drafts, rules
from billing.views import rule_forms as rf
from billing.views.common import not_found
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.views import tenant_view

DEFAULT_PARAMS = {
    "requires_service_delivery": False,
    "qualifying_service_codes": [],
    "retro_window_months": 3,
    "proration": "DAILY",
    "min_billable_days": 1,
    "file_precedence": ["MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE"],
    "benefit_combinations": [],
    "pricing_tiers": [],
}


def _effective(text: str, errors: dict) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors.setdefault("effective_from", []).append("effective_from: expected a date YYYY-MM-DD")
        return None


def _place_service_error(exc: DomainError, errors: dict) -> None:
    field = exc.message.split(":", 1)[0] if ":" in exc.message else "general"
    if "already has a rule version" in exc.message:
        field = "version"  # the label is taken for this payer
    elif field not in ("version", "effective_from", "payer"):
        field = "general"
    errors.setdefault(field, []).append(exc.message)


def _render(request, *, form: dict, errors: dict, rv=None, meta: dict, status: int = 200):
    payers = selectors.visible_payers(request.actor).order_by("code")
    return render(
        request,
        "billing/rule_form.html",
        {
            "rv": rv,
            "form": rf.with_blank_rows(form),
            "meta": meta,
            "errors": errors,
            "payers": payers,
            "error_count": sum(len(v) for v in errors.values())
            + sum(len(r["errors"]) for r in (*form["tiers"], *form["combos"])),
            **rf.CHOICES,
        },
        status=status,
    )


@tenant_view(S.BILLING_RULES_MANAGE)
def rule_new(request: HttpRequest) -> HttpResponse:
    """A form for a new DRAFT: payer, version, effective from and every param."""
    actor = request.actor
    if request.method != "POST":
        meta = {"payer": request.GET.get("payer", "").upper(), "version": "", "effective_from": ""}
        return _render(request, form=rf.form_from_params(DEFAULT_PARAMS), errors={}, meta=meta)
    post = request.POST
    meta = {
        "payer": post.get("payer", "").strip().upper(),
        "version": post.get("version", "").strip(),
        "effective_from": post.get("effective_from", "").strip(),
    }
    form = rf.form_from_post(post)
    params, errors = rf.validate_form(form)
    payer = selectors.visible_payers(actor).filter(code=meta["payer"]).first()
    if payer is None:
        errors.setdefault("payer", []).append("payer: choose one of your payers")
    if not meta["version"]:
        errors.setdefault("version", []).append("version: a version label is required")
    effective = _effective(meta["effective_from"], errors)
    if not errors and not rf.has_row_errors(form):
        try:
            rv = rules.rule_version_create(
                actor=actor,
                payer=payer,
                version=meta["version"],
                effective_from=effective,
                params=params,
            )
        except DomainError as exc:
            _place_service_error(exc, errors)
        else:
            messages.success(
                request, f"Draft {rv.payer.code} v{rv.version} saved. Activate it when ready."
            )
            return redirect(f"{reverse('billing:rules')}#rv-{rv.pk}")
    return _render(request, form=form, errors=errors, meta=meta, status=400)


@tenant_view(S.BILLING_RULES_MANAGE)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a DRAFT's effective date and params (active and retired versions never change)."""
    actor = request.actor
    try:
        rv = selectors.rule_version_get(actor, pk)
    except NotFound:
        return not_found(request, f"Rule version {pk}")
    meta = {
        "payer": rv.payer.code,
        "version": rv.version,
        "effective_from": rv.effective_from.isoformat(),
    }
    if rv.status != RuleVersion.Status.DRAFT:
        messages.error(
            request,
            f"{rv.payer.code} v{rv.version} is {rv.get_status_display().lower()}; only drafts "
            "change. Copy the active version to a new draft instead.",
        )
        return redirect("billing:rules")
    if request.method != "POST":
        return _render(request, form=rf.form_from_params(rv.params), errors={}, rv=rv, meta=meta)
    meta["effective_from"] = request.POST.get("effective_from", "").strip()
    form = rf.form_from_post(request.POST)
    params, errors = rf.validate_form(form)
    effective = _effective(meta["effective_from"], errors)
    if not errors and not rf.has_row_errors(form):
        try:
            rules.rule_version_update(
                actor=actor, rule_version_id=rv.pk, params=params, effective_from=effective
            )
        except DomainError as exc:
            _place_service_error(exc, errors)
        else:
            messages.success(request, f"Draft {rv.payer.code} v{rv.version} saved.")
            return redirect(f"{reverse('billing:rules')}#rv-{rv.pk}")
    return _render(request, form=form, errors=errors, rv=rv, meta=meta, status=400)


@tenant_view(S.BILLING_RULES_MANAGE)
@require_POST
def rule_copy(request: HttpRequest) -> HttpResponse:
    """Copy the payer's active version to a new draft, one version up; then edit it."""
    actor = request.actor
    code = request.POST.get("payer", "").strip().upper()
    payer = selectors.visible_payers(actor).filter(code=code).first()
    if payer is None:
        return not_found(request, f"Payer {code or '(none)'}")
    try:
        draft = rule_drafts.rule_version_copy_active(actor=actor, payer=payer)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("billing:rules")
    messages.success(
        request,
        f"Copied the active version of {payer.code} to draft v{draft.version}: change what "
        "differs, then activate it on Rule versions.",
    )
    return redirect("billing:rule-edit", pk=draft.pk)
