"""Wallet screens: the list (filters, low-balance flag, CSV), one wallet's page and its top-up."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.listexport import csv_response
from core.templatetags.present import money
from core.views import tenant_view
from wallets import charts
from wallets import selectors as sel
from wallets.forms import field_errors, parse_amount
from wallets.models import Wallet
from wallets.selectors import wallet_state
from wallets.services import ledger
from wallets.services.watch import wallet_watched
from wallets.views.common import STATE_BADGES, decorate_items, not_found

LIST_PAGE, LEDGER_PAGE, RECENT_ITEMS = 50, 25, 25
TOPUP_FIELDS = ("amount", "reference")


def _list_filters(q) -> dict:
    """The list's filters as typed (unknown values ignored, never an error)."""
    return {
        "account": (q.get("account") or "").strip()[:40],
        "currency": (q.get("currency") or "").strip().upper()[:3],
        "low": (q.get("low") or "").lower() in ("1", "true", "yes", "on"),
    }


def _wallets(request: HttpRequest, f: dict):
    qs = sel.wallet_list(actor=request.actor, account=f["account"], low=f["low"])
    if f["currency"]:
        qs = qs.filter(currency=f["currency"])
    return qs.select_related("account")


def _decorate(wallets, today) -> list[Wallet]:
    rows = list(wallets)
    for w in rows:
        w.available = sel.wallet_available(w)
        w.state = wallet_state(w, today)
        w.state_badge = STATE_BADGES[w.state]
    return rows


@tenant_view(S.WALLETS_VIEW)
def wallet_list(request: HttpRequest) -> HttpResponse:
    """Wallets with balance, available, thresholds, estimate and a healthy/low/empty badge."""
    f = _list_filters(request.GET)
    page = Paginator(_wallets(request, f), LIST_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "wallets/wallets.html",
        {
            "page": page,
            "rows": _decorate(page.object_list, timezone.localdate()),
            "f": f,
            "filter_query": query.urlencode(),
            "query_nopage": f"{query.urlencode()}&" if query else "",
        },
    )


CSV_HEADER = [
    "wallet",
    "account",
    "currency",
    "balance",
    "available",
    "min_balance_threshold",
    "stop_service_threshold",
    "restrict_below_stop",
    "daily_burn",
    "estimated_consumption_days",
    "estimated_consumption_date",
    "state",
]


@tenant_view(S.WALLETS_VIEW)
def wallet_list_csv(request: HttpRequest) -> HttpResponse:
    """The wallets the list shows (same filters), as CSV (core's streamed, formula-safe writer)."""
    qs = _wallets(request, _list_filters(request.GET))
    today = timezone.localdate()

    def rows():
        for w in qs.iterator(chunk_size=2000):
            yield [
                w.pk,
                w.account.number,
                w.currency,
                w.balance,
                sel.wallet_available(w),
                w.min_balance_threshold,
                w.stop_service_threshold,
                "yes" if w.restrict_below_stop else "no",
                w.daily_burn,
                w.estimated_consumption_days,
                w.estimated_consumption_date.isoformat() if w.estimated_consumption_date else "",
                wallet_state(w, today),
            ]

    return csv_response(f"wallets-{today:%Y-%m-%d}.csv", CSV_HEADER, rows())


def _wallet_context(request: HttpRequest, wallet: Wallet) -> dict:
    """Everything the wallet page shows: figures, chart, products, services, ledger page."""
    actor = request.actor
    today = timezone.localdate()
    available = sel.wallet_available(wallet)
    transactions = sel.transaction_list(actor=actor, wallet_id=wallet.pk).select_related("service")
    ledger_page = Paginator(transactions, LEDGER_PAGE)
    page = ledger_page.get_page(request.GET.get("page"))
    services = list(
        sel.service_list(actor=actor, account_id=wallet.account_id).select_related(
            "subscription", "product"
        )
    )
    for s in services:  # the life-cycle period in force today ([start, end), end null = open)
        s.period_now = next(
            (p for p in s.periods.all() if p.start <= today and (p.end is None or p.end > today)),
            None,
        )
    state = wallet_state(wallet, today)
    recent = sel.rated_item_list(actor=actor, account_id=wallet.account_id)[: RECENT_ITEMS + 1]
    rated_items = decorate_items(recent)
    return {
        "wallet": wallet,
        "available": available,
        "state": state,
        "state_badge": STATE_BADGES[state],
        "chart": charts.burn_down(
            sel.balance_history(wallet=wallet),
            today=today,
            balance=wallet.balance,
            runout=wallet.estimated_consumption_date,
        ),
        "consumptions": wallet.consumptions.select_related("product").order_by("product__code"),
        "services": services,
        "rated_items": rated_items[:RECENT_ITEMS],
        "more_rated_items": len(rated_items) > RECENT_ITEMS,
        "page": page,
        "can_topup": actor.has(S.WALLETS_TOPUP),
        "watching": wallet_watched(actor=actor, wallet_id=wallet.pk),
        "topup_label": S.SCOPE_LABELS[S.WALLETS_TOPUP],
        "errors": {},
        "form": {"amount": "", "reference": ""},
    }


@tenant_view(S.WALLETS_VIEW)
def wallet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Balance, available, thresholds, run-out estimate and burn-down, ledger, services."""
    try:
        wallet = sel.wallet_get(actor=request.actor, pk=pk)
    except NotFound:
        return not_found(request, f"Wallet {pk}")
    return render(request, "wallets/wallet.html", _wallet_context(request, wallet))


@tenant_view(S.WALLETS_TOPUP)
@require_POST
def wallet_topup(request: HttpRequest, pk: int) -> HttpResponse:
    """Credit the wallet (after the confirmation); a refusal is shown beside its field."""
    actor = request.actor
    try:
        wallet = sel.wallet_get(actor=actor, pk=pk)
    except NotFound:
        return not_found(request, f"Wallet {pk}")
    amount_text = request.POST.get("amount", "")
    reference = request.POST.get("reference", "").strip()
    try:
        amount = parse_amount(amount_text)
        tx = ledger.wallet_topup(
            actor=actor, wallet_id=wallet.pk, amount=amount, reference=reference
        )
    except DomainError as exc:
        context = _wallet_context(request, wallet)
        context["errors"] = field_errors(exc, TOPUP_FIELDS)
        context["form"] = {"amount": amount_text, "reference": reference}
        return render(request, "wallets/wallet.html", context, status=exc.http_status)
    messages.success(
        request,
        f"Topped up {money(Decimal(tx.amount))} ({reference}): "
        f"the balance is now {money(tx.balance_after)}.",
    )
    return redirect("wallets:wallet", pk=wallet.pk)
