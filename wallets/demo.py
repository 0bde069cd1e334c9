"""The wallets part of the demo (issue 15, build item 10), after the invoicing and denial parts.

Four prepaid accounts, loaded through the operators' `load_prepaid` file shape (`prepaid_load`):

- DEMO-2001, healthy: a pre-rated MOBILE service (paid up to 15 days ago) and a post-rated DATA
  service suspended for ten days of the last thirty, with usage of each directive (billed,
  credited, cancelled, and one not yet due); topped up by demo-manager before the run.
- DEMO-2002, low: below its minimum balance, so its pre-rated service becomes INVALID; a
  post-rated SMS service with a usage credit stays VALID (a credit never needs funds).
- DEMO-2003, capped: restrict-below-stop is on, so the debit stops at the stop-service threshold.
- DEMO-2004, empty: a post-rated service takes the last cent; a pre-rated TV service has been
  suspended for longer than it was rated, so it is rated forward without a charge.

Issue 18 adds prepaid pricing with two more accounts (the first four keep their own prices):

- DEMO-2005, priced: a post-rated CARE service on a price plan whose rate rises 10 days ago,
  with an automatic 10 % WELCOME discount that ended 20 days ago, an ad hoc GOODWILL discount
  (3.00 per 30 days) and VAT 20 % rising to 21 % 15 days ago, so its last 30 days are rated as
  four items; and a CARE-PACK bundle priced BOTH (the bundle's own plan, CARE-LAB on a plan
  inside the bundle, CARE-TELE on its standalone plan), each line split at the VAT change.
- DEMO-2006, penalty: a REHAB service bound until 60 days ahead, cancelled 5 days ago, so the
  run charges the remaining fees as an early-cancellation penalty.
- An active wallet definition (WD-DEMO) lets all three causes debit.

The pricing is written through the pricing services (`wallets.services.pricing`), audited.

Then demo-manager triggers a recurring prepaid run as of today with estimation ALL; it is
executed inline, so wallets have estimates and ledgers have DEBIT rows, and on completion it
creates its DRAFT successor with a django-q2 schedule. Idempotent: accounts are matched by
number, the file is loaded once (its first subscription marks it), the run is made once.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant

ORDER = 50
RECURRING_DAYS = 7
TOPUP = (Decimal("100.00"), "DEMO-RECEIPT-0001")

HEALTHY, LOW, CAPPED, EMPTY = "DEMO-2001", "DEMO-2002", "DEMO-2003", "DEMO-2004"
PRICED, PENALTY = "DEMO-2005", "DEMO-2006"
ACCOUNTS = [
    (HEALTHY, "Cedar Prepaid Clinic (healthy wallet)"),
    (LOW, "Juniper Prepaid Practice (low wallet)"),
    (CAPPED, "Maple Prepaid Therapy (capped at the stop threshold)"),
    (EMPTY, "Willow Prepaid Home Care (empty wallet)"),
    (PRICED, "Aspen Prepaid Wellness (price plans, discounts, VAT, a bundle)"),
    (PENALTY, "Birch Prepaid Rehab (cancelled early: a penalty)"),
]
WALLET_DEFINITION = "WD-DEMO"
TAX_CLASS = "VAT-STD"
# the balance each wallet ends the demo run with, worked out by hand from SPEC 7's rules
EXPECTED_BALANCES = {
    HEALTHY: Decimal("557.50"),  # 500 + 100 top-up - 30 MOBILE - 10 DATA - 4.50 + 2.00 usage
    LOW: Decimal("34.00"),  # 30 - 1 SMS + 5 credit; MOBILE (45) INVALID: 30 - 45 < 50
    CAPPED: Decimal("20.00"),  # 25 - 14 would leave 11 < stop 20: the debit is capped at 5
    EMPTY: Decimal("0.00"),  # 20 - 20 DATA (10 ACTIVE days at 60 / 30)
}


def _d(day: date) -> str:
    return day.isoformat()


def _wallet(number: str, opening: str, minimum: str, stop: str, restrict: bool) -> dict:
    return {
        "account": number,
        "currency": "USD",
        "min_balance_threshold": minimum,
        "stop_service_threshold": stop,
        "restrict_below_stop": restrict,
        "opening_balance": opening,
    }


def _service(ext, product, price, days, rating, rated_up_to, periods) -> dict:
    return {
        "external_id": ext,
        "product": product,
        "price_per_period": price,
        "period_days": days,
        "rating": rating,
        "rated_up_to": _d(rated_up_to) if rated_up_to else None,
        "periods": [
            {"state": state, "start": _d(start), "end": _d(end) if end else None}
            for state, start, end in periods
        ],
    }


def _usage(ext: str, service: str, amount: str, directive: str, on: date) -> dict:
    return {
        "external_id": ext,
        "service": service,
        "amount": amount,
        "directive": directive,
        "billing_effective_date": _d(on),
    }


def demo_prepaid_data(today: date) -> dict:
    """The demo's wallets, subscriptions and usage in the `load_prepaid` file shape."""
    t = today

    def ago(n: int) -> date:
        return t - timedelta(days=n)

    return {
        "wallets": [
            _wallet(HEALTHY, "500.00", "20.00", "5.00", False),
            _wallet(LOW, "30.00", "50.00", "10.00", False),
            _wallet(CAPPED, "25.00", "5.00", "20.00", True),
            _wallet(EMPTY, "20.00", "0.00", "0.00", False),
        ],
        "subscriptions": [
            {
                "external_id": f"{HEALTHY}-S1",
                "account": HEALTHY,
                "services": [
                    # pre-rated up to 15 days ago: the next 30 days are billed ahead (30.00)
                    _service(
                        f"{HEALTHY}-MOBILE",
                        "MOBILE",
                        "30.00",
                        30,
                        "PRE",
                        ago(15),
                        [("ACTIVE", ago(45), None)],
                    ),
                    # post-rated from 30 days ago; suspended 10 of those days: 20 days (10.00)
                    _service(
                        f"{HEALTHY}-DATA",
                        "DATA",
                        "15.00",
                        30,
                        "POST",
                        ago(30),
                        [
                            ("ACTIVE", ago(60), ago(20)),
                            ("SUSPENDED", ago(20), ago(10)),
                            ("ACTIVE", ago(10), None),
                        ],
                    ),
                ],
            },
            {
                "external_id": f"{LOW}-S1",
                "account": LOW,
                "services": [
                    # never rated, active since 3 days ago: billed from today ahead (45.00)
                    _service(
                        f"{LOW}-MOBILE",
                        "MOBILE",
                        "45.00",
                        30,
                        "PRE",
                        None,
                        [("ACTIVE", ago(3), None)],
                    ),
                    _service(
                        f"{LOW}-SMS",
                        "SMS",
                        "3.00",
                        30,
                        "POST",
                        ago(10),
                        [("ACTIVE", ago(30), None)],
                    ),
                ],
            },
            {
                "external_id": f"{CAPPED}-S1",
                "account": CAPPED,
                "services": [
                    _service(
                        f"{CAPPED}-DATA",
                        "DATA",
                        "30.00",
                        30,
                        "POST",
                        None,
                        [("ACTIVE", ago(14), None)],
                    ),
                ],
            },
            {
                "external_id": f"{EMPTY}-S1",
                "account": EMPTY,
                "services": [
                    _service(
                        f"{EMPTY}-DATA",
                        "DATA",
                        "60.00",
                        30,
                        "POST",
                        None,
                        [("ACTIVE", ago(10), None)],
                    ),
                    # suspended since before it was rated up to: rated forward, nothing charged
                    _service(
                        f"{EMPTY}-TV",
                        "TV",
                        "12.00",
                        30,
                        "PRE",
                        ago(40),
                        [("ACTIVE", ago(70), ago(40)), ("SUSPENDED", ago(40), None)],
                    ),
                ],
            },
        ],
        "usage": [
            _usage(f"{HEALTHY}-U1", f"{HEALTHY}-DATA", "4.50", "TO_BE_BILLED", ago(3)),
            _usage(f"{HEALTHY}-U2", f"{HEALTHY}-DATA", "2.00", "TO_BE_CREDITED", ago(2)),
            _usage(f"{HEALTHY}-U3", f"{HEALTHY}-DATA", "9.99", "CANCELLED", ago(1)),
            # not due yet: billed by a run on or after its date
            _usage(f"{HEALTHY}-U4", f"{HEALTHY}-DATA", "3.00", "TO_BE_BILLED", t + timedelta(5)),
            _usage(f"{LOW}-U1", f"{LOW}-SMS", "5.00", "TO_BE_CREDITED", ago(5)),
        ],
    }


def demo_pricing_prepaid_data(today: date) -> dict:
    """The priced accounts' wallets and services in the `load_prepaid` file shape."""

    def ago(n: int) -> date:
        return today - timedelta(days=n)

    return {
        "wallets": [
            _wallet(PRICED, "300.00", "20.00", "0.00", False),
            _wallet(PENALTY, "200.00", "0.00", "0.00", False),
        ],
        "subscriptions": [
            {
                "external_id": f"{PRICED}-S1",
                "account": PRICED,
                "services": [
                    # the service's own price is what it rates at without a price plan
                    _service(
                        f"{PRICED}-CARE",
                        "CARE",
                        "30.00",
                        30,
                        "POST",
                        ago(30),
                        [("ACTIVE", ago(90), None)],
                    ),
                    _service(
                        f"{PRICED}-PACK",
                        "CARE-PACK",
                        "25.00",
                        30,
                        "POST",
                        ago(30),
                        [("ACTIVE", ago(90), None)],
                    ),
                ],
            },
            {
                "external_id": f"{PENALTY}-S1",
                "account": PENALTY,
                "services": [
                    _service(
                        f"{PENALTY}-REHAB",
                        "REHAB",
                        "20.00",
                        30,
                        "POST",
                        ago(30),
                        [("ACTIVE", ago(60), ago(5)), ("CANCELLED", ago(5), None)],
                    ),
                ],
            },
        ],
        "usage": [],
    }


def load_demo_pricing(actor: Actor, today: date) -> None:
    """Tax class, price plans, discounts, the bundle, the binding end and the active wallet
    definition of the priced accounts, through the pricing services (each write audited)."""
    from wallets.models import SubscriptionService
    from wallets.services import pricing as P

    def ago(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    long_ago = ago(365)
    P.tax_class_upsert(
        actor=actor,
        code=TAX_CLASS,
        name="Standard VAT",
        rates=[
            {"effective_from": long_ago, "rate": "20"},
            {"effective_from": ago(15), "rate": "21"},  # mid-way through the rated month
        ],
    )
    for code in ("CARE", "CARE-LAB", "CARE-TELE", "REHAB"):
        P.product_pricing_update(actor=actor, product=code, tax_class=TAX_CLASS)
    P.product_pricing_update(
        actor=actor,
        product="CARE-PACK",
        tax_class=TAX_CLASS,
        bundle_pricing="BOTH",
        components=["CARE-LAB", "CARE-TELE"],
    )
    P.product_pricing_update(actor=actor, product="REHAB", penalty_kind="REMAINING_FEES")

    def plan(code: str, product: str, rates, bundle: str | None = None, name: str = "") -> None:
        P.price_plan_upsert(
            actor=actor,
            code=code,
            product=product,
            bundle=bundle,
            name=name,
            rates=[
                {"effective_from": day, "price_per_period": price, "period_days": 30}
                for day, price in rates
            ],
        )

    # CARE's rate rises from 30.00 to 36.00 a month 10 days ago
    plan("PLAN-CARE", "CARE", [(long_ago, "30.00"), (ago(10), "36.00")], name="Care monthly")
    plan("PLAN-CARE-PACK", "CARE-PACK", [(long_ago, "10.00")], name="Care pack (bundle fee)")
    plan(  # inside the pack CARE-LAB costs less than alone
        "PLAN-CARE-LAB-IN-PACK",
        "CARE-LAB",
        [(long_ago, "6.00")],
        bundle="CARE-PACK",
        name="Lab in the care pack",
    )
    plan("PLAN-CARE-TELE", "CARE-TELE", [(long_ago, "9.00")], name="Tele-consult monthly")
    plan("PLAN-REHAB", "REHAB", [(long_ago, "20.00")], name="Rehab monthly")
    P.discount_upsert(
        actor=actor,
        code="WELCOME",
        name="Welcome discount",
        kind="PERCENT",
        value="10",
        effective_from=ago(90),
        effective_to=ago(20),
        product="CARE",
    )
    P.discount_upsert(
        actor=actor,
        code="GOODWILL-2005",
        name="Goodwill credit",
        kind="FIXED",
        value="3.00",
        period_days=30,
        effective_from=ago(30),
        service=f"{PRICED}-CARE",
    )
    rehab = SubscriptionService.objects.get(tenant=actor.tenant, external_id=f"{PENALTY}-REHAB")
    P.service_binding_update(
        actor=actor, service=rehab, binding_end=(today + timedelta(days=60)).isoformat()
    )
    P.wallet_definition_upsert(
        actor=actor,
        code=WALLET_DEFINITION,
        name="Prepaid, usage and manual debits",
        debit_causes=["PREPAID_BILLING", "USAGE", "MANUAL"],
        active=True,
    )


def _person(tenant: Tenant, username: str) -> Actor:
    return Actor(tenant=tenant, user=get_user_model().objects.get(username=username))


def _accounts(tenant: Tenant) -> int:
    from invoicing.models import Account
    from invoicing.services.setup import account_create

    have = set(
        Account.objects.filter(tenant=tenant, number__in=[n for n, _ in ACCOUNTS]).values_list(
            "number", flat=True
        )
    )
    system = Actor.system_for(tenant)
    for number, name in ACCOUNTS:
        if number not in have:
            account_create(actor=system, number=number, name=name, bill_cycle_day=1)
    return len(ACCOUNTS) - len(have)


def load_wallets_demo(tenant: Tenant) -> str:
    """Prepaid accounts, wallets, services and usage, a top-up, pricing, a completed recurring
    run."""
    from wallets.models import PrepaidBillingRun, Subscription, Wallet
    from wallets.services.ledger import wallet_topup
    from wallets.services.loading import prepaid_load
    from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger

    today = date.today()
    said = []
    created = _accounts(tenant)
    if created:
        said.append(f"{created} prepaid accounts")
    if not Subscription.objects.filter(tenant=tenant, external_id=f"{HEALTHY}-S1").exists():
        prepaid_load(actor=Actor.system_for(tenant), data=demo_prepaid_data(today))
        manager = _person(tenant, "demo-manager")
        wallet = Wallet.objects.get(tenant=tenant, account__number=HEALTHY, currency="USD")
        amount, reference = TOPUP
        wallet_topup(actor=manager, wallet_id=wallet.pk, amount=amount, reference=reference)
        said.append("4 wallets, 4 subscriptions, 7 services, 5 usage records, a top-up")
    if not Subscription.objects.filter(tenant=tenant, external_id=f"{PRICED}-S1").exists():
        system = Actor.system_for(tenant)
        prepaid_load(actor=system, data=demo_pricing_prepaid_data(today))
        load_demo_pricing(system, today)
        said.append(
            "pricing: 2 wallets, 3 services, a tax class, 5 price plans, 2 discounts, "
            "a bundle, a binding end, an active wallet definition"
        )
    if not PrepaidBillingRun.objects.filter(tenant=tenant).exists():
        run = prepaid_run_trigger(
            actor=_person(tenant, "demo-manager"),
            as_of=today,
            estimation=PrepaidBillingRun.Estimation.ALL,
            recurring_interval_days=RECURRING_DAYS,
            enqueue=False,
        )
        run = prepaid_run_execute(run_id=run.pk)
        said.append(
            f"prepaid run {run.pk} {run.status}: {run.rated_count} items rated, "
            f"{run.debited_total} debited, INVALID services: {run.invalid_count}; "
            f"the next one every {RECURRING_DAYS} days"
        )
    return "; ".join(said) or "already loaded"


def register() -> None:
    """Add wallets and prepaid billing to the demo (after the invoicing accounts exist)."""
    register_demo_loader("wallets-prepaid", ORDER, load_wallets_demo)
