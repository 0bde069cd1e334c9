"""The "Low-balance wallets" dashboard panel, registered with core's dashboard registry."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.dashboard import Counter, Panel, register_panel
from core.templatetags.present import money
from wallets import selectors as sel
from wallets.selectors import wallet_state

SHOWN = 10


def _why(wallet, today) -> str:
    if wallet.balance <= 0:
        return "empty"
    if wallet.balance < wallet.stop_service_threshold:
        return "below the stop-service threshold"
    if wallet.balance < wallet.min_balance_threshold:
        return "below the minimum balance"
    if wallet.estimated_consumption_date:
        return f"runs out {wallet.estimated_consumption_date:%Y-%m-%d}"
    return wallet_state(wallet, today)


def low_balance_panel(actor: Actor) -> Panel | None:
    """The lowest wallets first (empty, below a threshold or running out within 7 days)."""
    if not actor.has(S.WALLETS_VIEW):
        return None
    today = timezone.localdate()
    low = sel.low_balance_wallets(actor=actor, limit=SHOWN)
    total = sel.wallet_list(actor=actor, low=True).count()
    url = reverse("wallets:wallets")
    counters = [Counter("low-balance wallets", total, f"{url}?low=true", "amber")]
    for w in low:
        # the count is the days left: 0 when empty, blank when nothing is estimated
        days = 0 if w.balance <= 0 else w.estimated_consumption_days
        what = f"{w.account.number} at {money(w.balance)} ({_why(w, today)})"
        counters.append(
            Counter(
                f"day{'' if days == 1 else 's'} left · {what}"
                if days is not None
                else f"{what} · no run-out estimate",
                days,
                reverse("wallets:wallet", args=[w.pk]),
                "red" if w.balance <= 0 or w.balance < w.stop_service_threshold else "amber",
            )
        )
    return Panel(title="Low-balance wallets", url=f"{url}?low=true", counters=counters)


def register() -> None:
    """Called from WalletsConfig.ready()."""
    register_panel("wallets_low_balance", 40, low_balance_panel)
