"""Wallets, catalog and prepaid-run API endpoints in the permission matrix (issue 15).

Each setup makes a fresh prepaid account of tenant A with a funded wallet (100.00), a POST
service with an open ACTIVE period, a posted usage record, and a prepaid run with one error
and one rated item, plus a second account with a wallet (where a subscription may move); the
account number is the marker tenant B must never see.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from core import scopes as S
from tests.permissions import Endpoint, register
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun, PrepaidRunError, RatedItem

VIEW, TOPUP, TRIGGER = S.WALLETS_VIEW, S.WALLETS_TOPUP, S.WALLETS_RUN_TRIGGER
_seq = itertools.count(1)


def _setup(world) -> dict:
    n = next(_seq)
    number = f"MXW-{n:05d}"
    acc = b.account(world.tenant, number)
    wallet = b.wallet(world.tenant, acc, balance="100.00")
    svc = b.service(world.tenant, acc, price="30.00", period_days=30, rating="POST")
    record = b.usage(world.tenant, svc, "2.50")
    other = b.account(world.tenant, f"MXW-{n:05d}-B")  # a subscription may move here
    b.wallet(world.tenant, other)
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 2, 1))
    PrepaidRunError.objects.create(
        run=run, account=acc, service=svc, code="matrix", message=f"matrix error {number}"
    )
    RatedItem.objects.create(
        tenant=world.tenant,
        run=run,
        account=acc,
        service=svc,
        kind=RatedItem.Kind.SERVICE,
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        active_days=30,
        amount=Decimal("30.00"),
        sign=RatedItem.Sign.POSITIVE,
        debited=Decimal("30.00"),
    )
    return {
        "n": n,
        "account": number,
        "other_account": other.number,
        "wallet": wallet.pk,
        "subscription": svc.subscription_id,
        "subscription_external_id": svc.subscription.external_id,
        "service": svc.pk,
        "usage": record.pk,
        "run": run.pk,
    }


def _get(name: str, url, *, of_tenant: bool) -> Endpoint:
    return Endpoint(
        name,
        "GET",
        url,
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=of_tenant,
        marker=None if of_tenant else (lambda c: c["account"]),
    )


register(
    _get("api wallets list", lambda c: "/api/wallets", of_tenant=False),
    _get("api wallet detail", lambda c: f"/api/wallets/{c['wallet']}", of_tenant=True),
    _get(
        "api wallet transactions",
        lambda c: f"/api/wallets/{c['wallet']}/transactions",
        of_tenant=True,
    ),
    Endpoint(
        "api wallet top-up",
        "POST",
        lambda c: f"/api/wallets/{c['wallet']}/top-ups",
        TOPUP,
        setup=_setup,
        data=lambda c: {"amount": "25.00", "reference": f"matrix {c['n']}"},
        success=frozenset({201}),
        object_of_tenant=True,
    ),
    _get("api subscriptions list", lambda c: "/api/subscriptions", of_tenant=False),
    Endpoint(
        "api subscriptions create",
        "POST",
        lambda c: "/api/subscriptions",
        TRIGGER,
        setup=_setup,
        data=lambda c: {"account": c["account"], "external_id": f"MX-SUB-NEW-{c['n']}"},
        success=frozenset({201}),
    ),
    _get(
        "api subscription detail",
        lambda c: f"/api/subscriptions/{c['subscription']}",
        of_tenant=True,
    ),
    Endpoint(
        "api subscription update",
        "PATCH",
        lambda c: f"/api/subscriptions/{c['subscription']}",
        TRIGGER,
        setup=_setup,
        data=lambda c: {"account": c["other_account"]},
        success=frozenset({200}),
        object_of_tenant=True,
    ),
    _get("api services list", lambda c: "/api/services", of_tenant=False),
    Endpoint(
        "api services create",
        "POST",
        lambda c: "/api/services",
        TRIGGER,
        setup=_setup,
        data=lambda c: {
            "subscription_external_id": c["subscription_external_id"],
            "external_id": f"MX-SVC-NEW-{c['n']}",
            "product": "DATA",
            "price_per_period": "10.00",
            "period_days": 30,
            "rating": "PRE",
            "periods": [{"state": "ACTIVE", "start": "2026-01-01", "end": None}],
        },
        success=frozenset({201}),
        marker=lambda c: c["account"],
    ),
    _get("api service detail", lambda c: f"/api/services/{c['service']}", of_tenant=True),
    Endpoint(
        "api service update",
        "PATCH",
        lambda c: f"/api/services/{c['service']}",
        TRIGGER,
        setup=_setup,
        data=lambda c: {"price_per_period": "33.00"},
        success=frozenset({200}),
        object_of_tenant=True,
    ),
    Endpoint(
        "api service period add",
        "POST",
        lambda c: f"/api/services/{c['service']}/periods",
        TRIGGER,
        setup=_setup,
        data=lambda c: {"state": "SUSPENDED", "start": "2026-03-01", "end": None},
        success=frozenset({201}),
        object_of_tenant=True,
    ),
    _get("api usage list", lambda c: "/api/usage", of_tenant=False),
    Endpoint(
        "api usage create",
        "POST",
        lambda c: "/api/usage",
        TRIGGER,
        setup=_setup,
        data=lambda c: {
            "service": c["service"],
            "amount": "4.00",
            "directive": "TO_BE_BILLED",
            "billing_effective_date": "2026-01-20",
        },
        success=frozenset({201}),
        marker=lambda c: c["account"],
    ),
    _get("api usage detail", lambda c: f"/api/usage/{c['usage']}", of_tenant=True),
    Endpoint(
        "api usage update",
        "PATCH",
        lambda c: f"/api/usage/{c['usage']}",
        TRIGGER,
        setup=_setup,
        data=lambda c: {"amount": "3.00"},
        success=frozenset({200}),
        object_of_tenant=True,
    ),
    _get("api prepaid runs list", lambda c: "/api/prepaid-runs", of_tenant=False),
    Endpoint(
        "api prepaid runs trigger",
        "POST",
        lambda c: "/api/prepaid-runs",
        TRIGGER,
        setup=_setup,
        data=lambda c: {"as_of": "2026-02-01", "accounts": [c["account"]]},
        success=frozenset({202}),
    ),
    _get("api prepaid run detail", lambda c: f"/api/prepaid-runs/{c['run']}", of_tenant=True),
    _get(
        "api prepaid run errors",
        lambda c: f"/api/prepaid-runs/{c['run']}/errors",
        of_tenant=True,
    ),
    _get(
        "api prepaid run items",
        lambda c: f"/api/prepaid-runs/{c['run']}/items",
        of_tenant=True,
    ),
)
