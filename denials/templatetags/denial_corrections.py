"""The correction panel of the denial detail: `{% corrections_panel denial %}` computes what the
panel shows (attempts, handlers for the CARC, what the signed-in person may do)."""

from __future__ import annotations

from django import template

from core import scopes as S
from denials import corrections as rules
from denials.models import CorrectionAttempt, Denial
from denials.services.corrections import FORCE_RETRY_REASONS

register = template.Library()


def panel_context(actor, denial: Denial) -> dict:
    """attempts (newest first), handlers (for the CARC), can_run, can_force, reasons."""
    attempts = list(
        CorrectionAttempt.objects.filter(tenant=denial.tenant_id, denial=denial).select_related(
            "corrected_claim", "created_by", "approved_by"
        )
    )
    workable = denial.status in Denial.WORKABLE
    handlers = rules.handlers_for(denial.carc)
    return {
        "denial": denial,
        "attempts": attempts,
        "handlers": handlers,
        "can_run": bool(handlers) and workable and actor.has(S.BILLING_AUTOCORRECTION_RUN),
        "can_force": bool(handlers) and workable and actor.has(S.BILLING_AUTOCORRECTION_OVERRIDE),
        "reasons": FORCE_RETRY_REASONS,
        "supported": rules.supported_carcs(),
    }


@register.inclusion_tag("denials/_corrections_panel.html", takes_context=True)
def corrections_panel(context, denial: Denial) -> dict:
    """Render the panel for the request's actor."""
    request = context["request"]
    return panel_context(request.actor, denial) | {
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
