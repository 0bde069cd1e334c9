"""Wallets' event types (issue 19): a wallet fell below its minimum, a prepaid run completed.

`wallets.wallet.low_balance` has no audit entry of its own: the ledger emits it (in the same
transaction) when a change takes a balance from at or above the wallet's minimum balance
threshold to below it, for thresholds above zero; once per crossing, not on every debit below.
Its notification goes to the users who watch the wallet (`WalletWatch`).
`wallets.run.completed` is written by the run's completion entry (`PrepaidRun.complete`).
"""

from __future__ import annotations

from decimal import Decimal

from core.event_types import object_link
from core.events import EventContext, EventType, event_emit_many, event_types_register, iso

WALLET = "wallets.Wallet"
RUN = "wallets.PrepaidBillingRun"
LOW_BALANCE = "wallets.wallet.low_balance"


def crossed_below(before: Decimal, after: Decimal, threshold: Decimal) -> bool:
    """Whether a change from `before` to `after` fell below a (positive) minimum."""
    return threshold > 0 and before >= threshold > after


def low_balance_emit(*, changes, tenant=None) -> int:
    """Inside the ledger's transaction: an event per wallet whose balance crossed its minimum.

    `changes` are (wallet, balance before) pairs of one tenant; the wallet holds the balance
    after. `tenant` defaults to the wallets' (read only when an event is written).
    """
    items = [
        {
            "obj": wallet,
            "object_id": wallet.pk,
            "payload": {
                "wallet": wallet.pk,
                "account": wallet.account_id,
                "currency": wallet.currency,
                "balance_before": before,
                "balance": wallet.balance,
                "min_balance_threshold": wallet.min_balance_threshold,
            },
        }
        for wallet, before in changes
        if crossed_below(before, wallet.balance, wallet.min_balance_threshold)
    ]
    if items:
        tenant = tenant if tenant is not None else items[0]["obj"].tenant
        event_emit_many(tenant=tenant, type=LOW_BALANCE, items=items)
    return len(items)


def watchers(event) -> list[int]:
    """The users who watch the wallet."""
    from wallets.models import WalletWatch

    return sorted(
        WalletWatch.objects.filter(
            tenant_id=event.tenant_id, wallet_id=event.object_id
        ).values_list("user_id", flat=True)
    )


def low_title(event) -> str:
    p = event.payload
    return (
        f"Wallet #{p.get('wallet')} is below its minimum: {p.get('balance')} "
        f"{p.get('currency', '')} (minimum {p.get('min_balance_threshold')})"
    )


def run_payload(ctx: EventContext) -> dict:
    """The completed prepaid run: its state and counters."""
    from wallets.models import PrepaidBillingRun

    run = ctx.obj
    if not isinstance(run, PrepaidBillingRun):
        run = PrepaidBillingRun.objects.get(pk=ctx.object_id)
    return {
        "run": run.pk,
        "as_of": run.as_of.isoformat(),
        "status": run.status,
        "finished_at": iso(run.finished_at) if run.finished_at else None,
        "accounts": run.accounts_total,
        "rated": run.rated_count,
        "debited": run.debited_total,
        "credited": run.credited_total,
        "invalid": run.invalid_count,
        "errors": run.errors_count,
        "wallets_estimated": run.wallets_estimated,
    }


TYPES = [
    EventType(
        name=LOW_BALANCE,
        description="A ledger change (a debit, a prepaid run) took a wallet's balance from at "
        "or above its minimum balance threshold to below it (thresholds above zero only).",
        object_type=WALLET,
        recipients=watchers,
        title=low_title,
        link=object_link("wallets:wallet"),
        sample={
            "wallet": 21,
            "account": 7,
            "currency": "USD",
            "balance_before": "520.00",
            "balance": "410.00",
            "min_balance_threshold": "500.00",
        },
    ),
    EventType(
        name="wallets.run.completed",
        description="A prepaid billing run rated and debited every account in its scope "
        "(COMPLETED, or COMPLETED_WITH_ERRORS when some services could not be rated).",
        object_type=RUN,
        actions=("PrepaidRun.complete",),
        payload=run_payload,
        sample={
            "run": 9,
            "as_of": "2026-09-30",
            "status": "COMPLETED",
            "finished_at": "2026-09-30T02:10:00Z",
            "accounts": 350,
            "rated": 1400,
            "debited": "48250.00",
            "credited": "0.00",
            "invalid": 0,
            "errors": 0,
            "wallets_estimated": 350,
        },
    ),
]


def register() -> None:
    """Add wallets' types to the event catalogue."""
    event_types_register("wallets", TYPES)
