"""Billing screens: a decision's inputs and replay."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from billing import selectors
from billing.models import RuleVersion
from billing.services import replay
from billing.views.common import not_found
from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.views import tenant_view

REGENERATE_REASONS = [
    ("corrected eligibility", "Corrected eligibility (an amended file arrived)"),
    ("rule amendment", "Rule amendment (the calculation changed)"),
    ("manual override", "Manual override to apply retroactively"),
]


# --- decisions and replay -----------------------------------------------------------------


@tenant_view(S.BILLING_RUN_VIEW)
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A decision's inputs in readable form, and the replay panel."""
    try:
        decision = selectors.decision_read(request.actor, pk)
    except NotFound:
        return not_found(request, f"Decision {pk}")
    inputs = decision.inputs
    from billing.engine.evaluate import ASSERTION_COLUMNS, SERVICE_COLUMNS

    context = {
        "d": decision,
        "inputs": inputs,
        "assertions": [
            dict(zip(ASSERTION_COLUMNS, row, strict=True)) for row in inputs.get("assertions", [])
        ],
        "services": [
            dict(zip(SERVICE_COLUMNS, row, strict=True)) for row in inputs.get("services", [])
        ],
        "versions": RuleVersion.objects.filter(payer=decision.payer).order_by(
            "-effective_from", "-id"
        ),
        "can_replay": request.actor.has(S.BILLING_DECISION_REPLAY),
    }
    template = (
        "billing/_decision_inputs.html"
        if request.headers.get("HX-Request")
        else "billing/decision.html"
    )
    return render(request, template, context)


@tenant_view(S.BILLING_DECISION_REPLAY)
@require_POST
def decision_replay(request: HttpRequest, pk: int) -> HttpResponse:
    """Old and new side by side, differing inputs highlighted (HTMX fragment or page)."""
    try:
        selectors.decision_get(request.actor, pk)
    except NotFound:
        return not_found(request, f"Decision {pk}")
    try:
        result = replay.decision_replay(
            actor=request.actor, decision_id=pk, rule_version=request.POST.get("rule_version", "")
        )
        error = ""
    except DomainError as exc:
        result, error = None, exc.message
    if request.headers.get("HX-Request"):
        return render(request, "billing/_replay.html", {"result": result, "error": error})
    if error:
        messages.error(request, error)
        return redirect("billing:decision", pk=pk)
    return render(request, "billing/replay.html", {"result": result})
