"""The denial detail (issue 14 items 1, 2, 7): the claim with its applications and balance, the
835 lines that opened the denial, correction attempts, the action forms (work, resolve, write
off, reopen, and the manual flip as a last resort) and the timeline of every move and override.

The state services come from the denial-flow part (`denials.services.denial_work`); the screen
only turns their answers (a denial, a pending override request, a refusal) into messages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.models import OverrideRequest
from core.phi_reads import PHI_VIEW, record_phi_access
from core.views import tenant_view
from denials import selectors_denials as sel
from denials.balances import with_amounts
from denials.models import Claim, CorrectionAttempt, Denial
from denials.views_denials import REASON_MAX, SUBNAV, status_badge
from denials.views_rec_common import not_found

Status = Denial.Status


def flip_reasons() -> dict[str, str]:
    """The manual flip's reason picklist (code -> label), from the flow part's services."""
    try:
        from denials.services.denial_work import FLIP_REASONS
    except ImportError:  # the services are not installed in this branch yet
        return {}
    return dict(FLIP_REASONS)


def flip_targets(denial: Denial) -> list[dict]:
    """The states a manual flip may take the denial to: the state machine's moves from its
    state, the system's own (void, reversing 835) excepted."""
    out = []
    for t in Denial._meta.get_field("status").get_all_transitions(Denial):
        custom = t.custom or {}
        if t.source == denial.status and not custom.get("system"):
            out.append(
                {
                    "to": t.target,
                    "label": Status(t.target).label,
                    "transition": custom.get("label", t.name),
                    "effect": custom.get("effect", ""),
                }
            )
    return sorted(out, key=lambda m: m["to"])


def _corrections_partial() -> str:
    """The correction part's partial when installed in this branch, else ''."""
    try:
        get_template("denials/_corrections.html")
    except TemplateDoesNotExist:
        return ""
    return "denials/_corrections.html"


def _remittance_lines(denial: Denial) -> list[dict]:
    """The 835 service lines of the remittance claim that carry the denial's group and CARC."""
    rc = denial.remittance_claim
    wanted = {(a.get("line"), str(a.get("amount"))) for a in _cas(rc.adjustments, denial)}
    lines = []
    for line in rc.lines if isinstance(rc.lines, list) else []:
        if not isinstance(line, dict):
            continue
        number = line.get("line")
        hits = [amt for n, amt in wanted if n == number]
        lines.append({**line, "denied": hits, "opened": bool(hits)})
    return lines


def _cas(adjustments, denial: Denial) -> list[dict]:
    return [
        a
        for a in (adjustments if isinstance(adjustments, list) else [])
        if isinstance(a, dict)
        and a.get("group") == denial.group_code
        and str(a.get("carc")) == denial.carc
    ]


def _detail(request: HttpRequest, denial: Denial, *, status: int = 200) -> HttpResponse:
    actor = request.actor
    claim = (
        with_amounts(Claim.objects.filter(pk=denial.claim_id))
        .select_related("payer", "member")
        .get()
    )
    applications = list(
        claim.applications.select_related("remittance_claim__remittance").order_by(
            "created_at", "id"
        )
    )
    can_write = actor.has(S.BILLING_DENIAL_WRITE)
    return render(
        request,
        "denials/denial.html",
        {
            "subnav": SUBNAV,
            "d": denial,
            "badge": status_badge(denial),
            "carc_text": sel.carc_label(denial.carc),
            "age": sel.age_days(denial),
            "claim": claim,
            "applications": applications,
            "rc": denial.remittance_claim,
            "cas": _cas(denial.remittance_claim.adjustments, denial),
            "lines": _remittance_lines(denial),
            "corrections_partial": _corrections_partial(),
            "corrections": list(
                CorrectionAttempt.objects.filter(tenant=actor.tenant, denial=denial)
                .select_related("created_by", "corrected_claim")
                .order_by("created_at", "id")
            ),
            "timeline": sel.denial_timeline(actor, denial),
            "pending": sel.pending_requests(actor, denial),
            "can_write": can_write,
            "workable": denial.status in Denial.WORKABLE,
            "flip_targets": flip_targets(denial),
            "flip_reasons": flip_reasons(),
            "reason_max": REASON_MAX,
        },
        status=status,
    )


@tenant_view(S.CLAIMS_VIEW)
def denial_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One denial: claim and balance, the 835 lines, corrections, actions and timeline."""
    try:
        denial = sel.denial_get(request.actor, pk)
    except NotFound:
        return not_found(request, f"Denial {pk}")
    record_phi_access(request.actor, PHI_VIEW, denial.claim)
    return _detail(request, denial)


# --- actions ------------------------------------------------------------------------------------

ACTIONS = {
    "work": "Work",
    "resolve": "Resolve",
    "write_off": "Write off",
    "reopen": "Reopen",
    "flip": "Manual flip",
}


def _run(request: HttpRequest, denial: Denial, action: str, reason: str):
    """Call the service behind one action; a denial or an OverrideRequest comes back."""
    from denials.services import denial_work as svc

    actor, pk = request.actor, denial.pk
    if action == "work":
        return svc.denial_work(actor=actor, denial_id=pk)
    if action == "resolve":
        return svc.denial_resolve(actor=actor, denial_id=pk, reason=reason)
    if action == "write_off":
        return svc.denial_write_off(actor=actor, denial_id=pk, reason=reason)
    if action == "reopen":
        return svc.denial_reopen(actor=actor, denial_id=pk, reason=reason)
    return svc.denial_flip(
        actor=actor,
        denial_id=pk,
        to=(request.POST.get("to") or "").strip().upper()[:20],
        reason_code=(request.POST.get("reason_code") or "").strip()[:40],
        reason=reason,
    )


def _refusal(action: str, reason: str, request: HttpRequest) -> str:
    if action in ("write_off", "reopen", "flip") and not reason:
        return f"reason: {ACTIONS[action].lower()} needs a reason."
    if len(reason) > REASON_MAX:
        return f"reason: at most {REASON_MAX} characters."
    if action == "flip" and not (request.POST.get("to") or "").strip():
        return "to: choose the state to flip to."
    return ""


def _balance_text(denial: Denial) -> str:
    from core.templatetags.present import money

    claim = with_amounts(Claim.objects.filter(pk=denial.claim_id)).get()
    return f"claim {claim.number} balance is now {money(claim.balance)}"


@tenant_view(S.BILLING_DENIAL_WRITE)
@require_POST
def denial_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One move on one denial; a refusal is shown on the detail with the allowed moves."""
    actor = request.actor
    action = action.replace("-", "_")
    if action not in ACTIONS:
        return not_found(request, f"Action {action}")
    try:
        denial = sel.denial_get(actor, pk)
    except NotFound:
        return not_found(request, f"Denial {pk}")
    reason = (request.POST.get("reason") or "").strip()
    error = _refusal(action, reason, request)
    code = 400
    result = None
    if not error:
        try:
            result = _run(request, denial, action, reason)
        except DomainError as exc:
            error, code = exc.message, exc.http_status
    if error:
        allowed = ", ".join(f"{m['transition']} (to {m['label']})" for m in flip_targets(denial))
        messages.error(request, f"{ACTIONS[action]} refused: {error}")
        if allowed and "allowed" not in error.lower():
            messages.info(request, f"Allowed moves from {denial.get_status_display()}: {allowed}.")
        return _detail(request, sel.denial_get(actor, pk), status=code)
    if isinstance(result, OverrideRequest):
        messages.success(
            request,
            f"{ACTIONS[action]} of denial {pk} waits for a second person's approval "
            f"(request #{result.pk}).",
        )
    else:
        fresh = sel.denial_get(actor, pk)
        messages.success(
            request,
            f"{ACTIONS[action]}: denial {pk} is {fresh.get_status_display().lower()}; "
            f"{_balance_text(fresh)}.",
        )
    return redirect("denials:denial", pk=pk)
