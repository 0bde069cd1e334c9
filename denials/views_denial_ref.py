"""The 9.2 status reference screen (issue 14 item 1): the denial states and their moves,
generated from the state machine (`denials.transitions_ref`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core import scopes as S
from core.views import tenant_view
from denials.services.denial_work import FLIP_REASONS
from denials.transitions_ref import denial_moves


@tenant_view(S.CLAIMS_VIEW)
def denial_status_reference(request: HttpRequest) -> HttpResponse:
    """Every denial state, the moves allowed from it, their effect and who may take them."""
    states = denial_moves()
    return render(
        request,
        "denials/denial_status_reference.html",
        {
            "states": states,
            "flip_reasons": list(FLIP_REASONS.values()),
            "subnav": "denials/_subnav.html",
        },
    )
