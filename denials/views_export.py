"""The 837P export screen: BUILT claims waiting to go out, export with a confirmation, and the
past interchanges to download again."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.views.decorators.http import require_GET

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.phi_reads import PHI_EXPORT, record_phi_access
from core.views import tenant_view
from denials import selectors_export as sel
from denials.services.x12_export import claims_export_837

SHOWN = 500


def _subnav() -> str:
    """The claims sub-navigation, when the claims screens provide it."""
    try:
        get_template("denials/_subnav.html")
    except TemplateDoesNotExist:
        return ""
    return "denials/_subnav.html"


def _context(request: HttpRequest, *, errors: dict | None = None, chosen=()) -> dict:
    actor = request.actor
    built = sel.built_claim_list(actor)
    return {
        "claims": list(built[:SHOWN]),
        "built_count": built.count(),
        "shown": SHOWN,
        "interchanges": list(sel.interchange_list(actor)[:50]),
        "can_export": actor.has(S.CLAIMS_WRITE),
        "errors": errors or {},
        "chosen": set(chosen),
        "subnav": _subnav(),
    }


@tenant_view(S.CLAIMS_VIEW, post_scope=S.CLAIMS_WRITE)
def export_837(request: HttpRequest) -> HttpResponse:
    """GET: the BUILT claims and past interchanges. POST: export the chosen (or all) claims."""
    if request.method != "POST":
        return render(request, "denials/export_837.html", _context(request))
    all_built = request.POST.get("all_built") == "true"
    numbers = [] if all_built else request.POST.getlist("claim")
    try:
        x = claims_export_837(
            actor=request.actor,
            tenant=request.actor.tenant,
            claim_numbers=numbers,
            all_built=all_built,
        )
    except DomainError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        errors = {"general": exc.message, "claims": details.get("claims", {})}
        context = _context(request, errors=errors, chosen=numbers)
        return render(request, "denials/export_837.html", context, status=exc.http_status)
    messages.success(
        request,
        f"Interchange {x.interchange_control_number} written: {x.claim_count} claims, "
        f"now submitted. Download it below.",
    )
    return redirect("denials:export_837")


@tenant_view(S.CLAIMS_VIEW)
@require_GET
def export_837_file(request: HttpRequest, pk: int) -> HttpResponse:
    """Download a past interchange as it was sent."""
    try:
        x = sel.interchange_get(request.actor, pk)
    except NotFound:
        return render(
            request, "core/not_found.html", {"what": f"837P interchange {pk}"}, status=404
        )
    record_phi_access(request.actor, PHI_EXPORT, x, claims=x.claim_count)
    response = HttpResponse(x.content, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{sel.interchange_filename(x)}"'
    return response
