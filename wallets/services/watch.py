"""Watching a wallet (issue 19): the watchers hear when its balance falls below its minimum.

A watch is one staff user's interest in one wallet (`WalletWatch`); the
`wallets.wallet.low_balance` event notifies the wallet's watchers. Anyone who may see the
wallet (`wallets.view`) may watch it; only a person can (not the system, a token acts for its
user).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError
from wallets.models import WalletWatch
from wallets.selectors import wallet_get


def wallet_watch_set(*, actor: Actor, wallet_id: int, watching: bool) -> bool:
    """Start or stop watching a wallet (idempotent); returns whether the actor now watches it."""
    actor.require(S.WALLETS_VIEW)
    if actor.user is None:
        raise DomainError("Only a person can watch a wallet.", code="person_required")
    wallet = wallet_get(actor=actor, pk=wallet_id)  # NotFound across tenants
    with transaction.atomic():
        mine = WalletWatch.objects.filter(tenant=actor.tenant, wallet=wallet, user=actor.user)
        if watching == mine.exists():
            return watching
        if watching:
            try:
                with transaction.atomic():
                    WalletWatch.objects.create(tenant=actor.tenant, wallet=wallet, user=actor.user)
            except IntegrityError:  # a second click that raced the first: already watching
                return True
        else:
            mine.delete()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="Wallet.watch" if watching else "Wallet.unwatch",
            obj=wallet,
            payload={"user": actor.user.get_username()},
        )
    return watching


def wallet_watched(*, actor: Actor, wallet_id: int) -> bool:
    """Whether the actor's user watches the wallet."""
    if actor.user is None:
        return False
    return WalletWatch.objects.filter(
        tenant=actor.tenant, wallet_id=wallet_id, user=actor.user
    ).exists()
