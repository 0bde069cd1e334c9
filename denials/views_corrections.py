"""Auto-correction screen actions (issue 14 item 3): run and force-retry from the denial detail.

Both post back to the denial detail (`/claims/denials/<pk>/`) with a message; the services
check the scopes again and own every rule.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.models import OverrideRequest
from core.views import tenant_view
from denials.services.corrections import correction_force_retry, correction_run
from denials.views_rec_common import not_found

REASON_MAX = 1000


def detail_url(pk: int) -> str:
    """The denial detail the panel sits on."""
    return f"/claims/denials/{pk}/"


def _attempt_text(attempt) -> str:
    text = f"{attempt.handler}: {attempt.outcome} ({attempt.result.get('message', '')})"
    if attempt.corrected_claim_id:
        text += f"; replacement claim {attempt.corrected_claim.number} built for the next 837P"
    return text


@tenant_view(S.BILLING_AUTOCORRECTION_RUN)
@require_POST
def correction_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the chosen (or default) handler on the denial."""
    handler = (request.POST.get("handler") or "").strip()[:40] or None
    try:
        attempt = correction_run(actor=request.actor, denial_id=pk, handler=handler)
    except NotFound:
        return not_found(request, f"Denial {pk}")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url(pk))
    if attempt.reused:
        messages.info(
            request,
            "Nothing changed since the last run: the stored attempt stands. "
            + _attempt_text(attempt),
        )
    else:
        messages.success(request, _attempt_text(attempt))
    return redirect(detail_url(pk))


@tenant_view(S.BILLING_AUTOCORRECTION_OVERRIDE)
@require_POST
def correction_force_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Force-retry with a reason code and a reason (dual control when the tenant asks)."""
    reason = (request.POST.get("reason") or "").strip()
    if len(reason) > REASON_MAX:
        messages.error(request, f"reason: at most {REASON_MAX} characters.")
        return redirect(detail_url(pk))
    try:
        got = correction_force_retry(
            actor=request.actor,
            denial_id=pk,
            handler=(request.POST.get("handler") or "").strip()[:40] or None,
            reason=reason,
            reason_code=(request.POST.get("reason_code") or "").strip()[:40],
        )
    except NotFound:
        return not_found(request, f"Denial {pk}")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(detail_url(pk))
    if isinstance(got, OverrideRequest):
        messages.success(
            request,
            f"The force-retry waits for a second person's approval (override request {got.pk}).",
        )
    else:
        messages.success(request, "Forced: " + _attempt_text(got))
    return redirect(detail_url(pk))
