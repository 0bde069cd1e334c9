"""Billing screens: payers (list, create, edit)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing import selectors
from billing.services import payers as payer_services
from billing.views.common import not_found
from core import scopes as S
from core.exceptions import DomainError
from core.views import tenant_view


def _form_values(post) -> dict:
    return {
        "code": post.get("code", ""),
        "name": post.get("name", ""),
        "active": bool(post.get("active")),
        "timely_filing_days": post.get("timely_filing_days", "").strip(),
    }


def _errors(exc: DomainError) -> dict:
    """Field -> message from a service error (details name the fields)."""
    if isinstance(exc.details, dict) and exc.details:
        return {k: str(v) for k, v in exc.details.items()}
    return {"general": exc.message}


@tenant_view(S.BILLING_RUN_VIEW, post_scope=S.BILLING_RULES_MANAGE)
def payer_list(request: HttpRequest) -> HttpResponse:
    """The payers with their rules; a form to add one (for those who manage rules)."""
    actor = request.actor
    values = {"code": "", "name": "", "active": True, "timely_filing_days": "365"}
    errors: dict = {}
    if request.method == "POST":
        values = _form_values(request.POST)
        try:
            payer = payer_services.payer_create(actor=actor, **values)
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Payer {payer.code} created. Add its rules next.")
            return redirect("billing:payers")
    payers = selectors.visible_payers(actor).order_by("code")
    return render(
        request,
        "billing/payers.html",
        {
            "payers": payers,
            "values": values,
            "errors": errors,
            "can_manage": actor.has(S.BILLING_RULES_MANAGE),
        },
        status=400 if errors else 200,
    )


@tenant_view(S.BILLING_RULES_MANAGE)
def payer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a payer's name, active flag or timely filing days."""
    actor = request.actor
    payer = selectors.visible_payers(actor).filter(pk=pk).first()
    if payer is None:
        return not_found(request, f"Payer {pk}")
    values = {
        "code": payer.code,
        "name": payer.name,
        "active": payer.active,
        "timely_filing_days": str(payer.timely_filing_days),
    }
    errors: dict = {}
    if request.method == "POST":
        values = _form_values(request.POST) | {"code": payer.code}
        try:
            payer_services.payer_update(
                actor=actor,
                payer_id=payer.pk,
                name=values["name"],
                active=values["active"],
                timely_filing_days=values["timely_filing_days"],
            )
        except DomainError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Payer {payer.code} saved.")
            return redirect("billing:payers")
    return render(
        request,
        "billing/payer_form.html",
        {"payer": payer, "values": values, "errors": errors},
        status=400 if errors else 200,
    )
