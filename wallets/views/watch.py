"""The wallet page's Watch / Unwatch button (issue 19)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.views import tenant_view
from wallets.services.watch import wallet_watch_set
from wallets.views.common import not_found


@tenant_view(S.WALLETS_VIEW)
@require_POST
def wallet_watch(request: HttpRequest, pk: int) -> HttpResponse:
    """Start (watching=1) or stop watching the wallet; back to its page with a message."""
    watching = request.POST.get("watching") == "1"
    try:
        wallet_watch_set(actor=request.actor, wallet_id=pk, watching=watching)
    except NotFound:
        return not_found(request, f"Wallet {pk}")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("wallets:wallet", pk=pk)
    if watching:
        messages.success(
            request, "You watch this wallet: you will hear when it falls below its minimum balance."
        )
    else:
        messages.success(request, "You no longer watch this wallet.")
    return redirect("wallets:wallet", pk=pk)
