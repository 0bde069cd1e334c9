"""Watching a wallet (issue 19) in the permission matrix: the API's POST/DELETE
/api/wallets/{id}/watch and the wallet page's Watch button, for every role holding
wallets.view; tenant B gets 404 for tenant A's wallet."""

from __future__ import annotations

from core import scopes as S
from tests.permissions import Endpoint, register
from tests.wallets import builders as b

VIEW = S.WALLETS_VIEW


def _setup(world) -> dict:
    return {"wallet": b.wallet(world.tenant, balance="100.00", min_balance="10.00").pk}


register(
    Endpoint(
        "api wallet watch",
        "POST",
        lambda c: f"/api/wallets/{c['wallet']}/watch",
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api wallet unwatch",
        "DELETE",
        lambda c: f"/api/wallets/{c['wallet']}/watch",
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen wallet watch",
        "POST",
        lambda c: f"/wallets/{c['wallet']}/watch/",
        VIEW,
        kind="screen",
        setup=_setup,
        data=lambda c: {"watching": "1"},
        success=frozenset({302}),
        object_of_tenant=True,
    ),
)
