"""Wallets, catalog, prepaid-run (issue 15) and pricing (issue 18) API endpoints in the
permission matrix.

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
    run = PrepaidBillingRun.objects.create(
        tenant=world.tenant, as_of=date(2026, 2, 1), accounts=[number]
    )
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
        "service_external_id": svc.external_id,
        "usage": record.pk,
        "run": run.pk,
    }


def _get(name: str, url, *, of_tenant: bool, marker: str = "account") -> Endpoint:
    """A read; a list's marker is the context's `marker` entry (what that list shows)."""
    return Endpoint(
        name,
        "GET",
        url,
        VIEW,
        setup=_setup,
        success=frozenset({200}),
        object_of_tenant=of_tenant,
        marker=None if of_tenant else (lambda c: c[marker]),
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
    _get("api usage list", lambda c: "/api/usage", of_tenant=False, marker="service_external_id"),
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
    _get("api prepaid runs list", lambda c: "/api/prepaid-runs", of_tenant=False),  # its accounts
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


# --- issue 18: pricing -------------------------------------------------------------------------


def _pricing_setup(world) -> dict:
    """The wallets scene plus a tax class, a price plan, an automatic discount, a bundle and an
    inactive wallet definition, all with codes made unique by the scene's number."""
    from tests.wallets import pricing_builders as pb

    c = _setup(world)
    n = c["n"]
    prod = b.product(world.tenant, f"MXP-{n:05d}")
    tc = pb.tax_class(world.tenant, f"MXT-{n:05d}")
    plan = pb.price_plan(world.tenant, prod, code=f"MXPLAN-{n:05d}")
    disc = pb.discount(world.tenant, product=prod, code=f"MXD-{n:05d}")
    bundle = pb.bundle(world.tenant, f"MXB-{n:05d}", "BOTH", [prod.code])
    wd = pb.wallet_definition(world.tenant, active=False, code=f"MXWD-{n:05d}")
    return c | {
        "product": prod.code,
        "tax_class": tc.pk,
        "tax_class_code": tc.code,
        "plan": plan.pk,
        "plan_code": plan.code,
        "discount": disc.pk,
        "discount_code": disc.code,
        "bundle": bundle.code,
        "definition": wd.pk,
        "definition_code": wd.code,
    }


def _pget(name: str, url, marker: str | None = None) -> Endpoint:
    """A pricing read: a list (the marker key names what tenant B must not see) or an object."""
    return Endpoint(
        name,
        "GET",
        url,
        VIEW,
        setup=_pricing_setup,
        success=frozenset({200}),
        object_of_tenant=marker is None,
        marker=None if marker is None else (lambda c: c[marker]),
    )


def _pwrite(name: str, method: str, url, data, success: int, *, of_tenant: bool) -> Endpoint:
    return Endpoint(
        name,
        method,
        url,
        TRIGGER,
        setup=_pricing_setup,
        data=data,
        success=frozenset({success}),
        object_of_tenant=of_tenant,
    )


register(
    _pget("api tax classes list", lambda c: "/api/tax-classes", "tax_class_code"),
    _pget("api tax class detail", lambda c: f"/api/tax-classes/{c['tax_class']}"),
    _pwrite(
        "api tax classes upsert",
        "POST",
        lambda c: "/api/tax-classes",
        lambda c: {
            "code": f"MXT-NEW-{c['n']}",
            "rates": [{"effective_from": "2026-01-01", "rate": "20"}],
        },
        201,
        of_tenant=False,
    ),
    _pget("api price plans list", lambda c: "/api/price-plans", "plan_code"),
    _pget("api price plan detail", lambda c: f"/api/price-plans/{c['plan']}"),
    _pwrite(
        "api price plans upsert",
        "POST",
        lambda c: "/api/price-plans",
        lambda c: {
            "code": f"MXPLAN-NEW-{c['n']}",
            "product": c["product"],
            "bundle": c["bundle"],
            "rates": [
                {"effective_from": "2026-01-01", "price_per_period": "9.00", "period_days": 30}
            ],
        },
        201,
        of_tenant=False,
    ),
    _pwrite(
        "api price plan rate add",
        "POST",
        lambda c: f"/api/price-plans/{c['plan']}/rates",
        lambda c: {"effective_from": "2026-04-01", "price_per_period": "33.00", "period_days": 30},
        201,
        of_tenant=True,
    ),
    _pget("api discounts list", lambda c: "/api/discounts", "discount_code"),
    _pget("api discount detail", lambda c: f"/api/discounts/{c['discount']}"),
    _pwrite(
        "api discounts upsert",
        "POST",
        lambda c: "/api/discounts",
        lambda c: {
            "code": f"MXD-NEW-{c['n']}",
            "kind": "FIXED",
            "value": "2.00",
            "effective_from": "2026-01-01",
            "product": c["product"],
        },
        201,
        of_tenant=False,
    ),
    _pwrite(
        "api discount end",
        "PATCH",
        lambda c: f"/api/discounts/{c['discount']}",
        lambda c: {"effective_to": "2026-05-01", "reason": "matrix"},
        200,
        of_tenant=True,
    ),
    _pget("api bundles list", lambda c: "/api/bundles", "bundle"),
    _pget("api bundle detail", lambda c: f"/api/bundles/{c['bundle']}"),
    _pwrite(
        "api bundle update",
        "PUT",
        lambda c: f"/api/bundles/{c['bundle']}",
        lambda c: {"bundle_pricing": "COMPONENTS", "components": [c["product"]]},
        200,
        of_tenant=True,
    ),
    _pget("api product pricing detail", lambda c: f"/api/products/{c['product']}"),
    _pwrite(
        "api product pricing update",
        "PATCH",
        lambda c: f"/api/products/{c['product']}",
        lambda c: {"penalty_kind": "FIXED", "penalty_amount": "10.00"},
        200,
        of_tenant=True,
    ),
    _pget("api wallet definitions list", lambda c: "/api/wallet-definitions", "definition_code"),
    _pget("api wallet definition detail", lambda c: f"/api/wallet-definitions/{c['definition']}"),
    _pwrite(
        "api wallet definitions upsert",
        "POST",
        lambda c: "/api/wallet-definitions",
        lambda c: {"code": f"MXWD-NEW-{c['n']}", "debit_causes": ["USAGE"]},
        201,
        of_tenant=False,
    ),
    _pwrite(
        "api wallet definition update",
        "PATCH",
        lambda c: f"/api/wallet-definitions/{c['definition']}",
        lambda c: {"active": True, "debit_causes": ["PREPAID_BILLING"]},
        200,
        of_tenant=True,
    ),
)
