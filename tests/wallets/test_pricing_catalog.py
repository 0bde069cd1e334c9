"""Pricing writes: tax classes, price plans, discounts, product pricing, wallet definitions and
binding ends (validation naming the field, audit entries, nothing half-written)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from core.exceptions import Conflict, DomainError, ScopeDenied
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlan,
    Product,
    TaxClass,
    WalletDefinition,
)
from wallets.services.pricing import (
    discount_end,
    discount_upsert,
    price_plan_upsert,
    product_pricing_update,
    service_binding_update,
    tax_class_upsert,
    wallet_definition_upsert,
)

D = date


def actions(world) -> list[str]:
    return list(
        AuditEntry.objects.filter(tenant=world.tenant, action__contains=".")
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_tax_class_rates_add_and_change_by_date(world):
    actor = world.actor()
    tc = tax_class_upsert(
        actor=actor,
        code="STD",
        name="Standard",
        rates=[{"effective_from": "2026-01-01", "rate": "20"}],
    )
    tax_class_upsert(
        actor=actor,
        code="STD",
        rates=[
            {"effective_from": "2026-01-01", "rate": "19.5"},
            {"effective_from": "2026-07-01", "rate": "21"},
        ],
    )
    assert list(tc.rates.values_list("effective_from", "rate")) == [
        (D(2026, 1, 1), Decimal("19.5000")),
        (D(2026, 7, 1), Decimal("21.0000")),
    ]
    tc.refresh_from_db()
    assert tc.name == "Standard"  # an empty name leaves it
    # the same rates again change nothing and write no entry
    tax_class_upsert(actor=actor, code="STD", rates=[{"effective_from": "2026-07-01", "rate": 21}])
    assert actions(world) == ["TaxClass.create", "TaxClass.update"]


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ([{"effective_from": "2026-01-01", "rate": "101"}], "rates[0].rate: expected a percent"),
        ([{"effective_from": "2026-01-01", "rate": "-1"}], "rates[0].rate: expected a percent"),
        ([{"effective_from": "01/02/2026", "rate": "5"}], "rates[0].effective_from:"),
        (
            [
                {"effective_from": "2026-01-01", "rate": "5"},
                {"effective_from": "2026-01-01", "rate": "6"},
            ],
            "rates[1].effective_from: 2026-01-01 is also rates[0]",
        ),
        ([{"effective_from": "2026-01-01", "rate": "5", "x": 1}], "rates[0].x: unknown field"),
    ],
)
def test_tax_class_bad_rates_store_nothing(world, rates, message):
    with pytest.raises(DomainError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tax_class_upsert(actor=world.actor(), code="STD", rates=rates)
    assert not TaxClass.objects.filter(tenant=world.tenant).exists()
    assert actions(world) == []


def test_pricing_writes_need_the_run_trigger_scope(world):
    viewer = world.actor(S.Role.VIEWER)
    with pytest.raises(ScopeDenied):
        tax_class_upsert(actor=viewer, code="STD")
    with pytest.raises(ScopeDenied):
        wallet_definition_upsert(actor=viewer, code="W", debit_causes=[])
    assert not TaxClass.objects.exists()


def test_price_plan_needs_a_rate_and_keeps_its_product(world):
    actor = world.actor()
    b.product(world.tenant, "DATA")
    with pytest.raises(DomainError, match="rates: a new price plan needs at least one rate"):
        price_plan_upsert(actor=actor, code="P1", product="DATA", rates=[])
    with pytest.raises(
        DomainError, match=r"rates\[0\].period_days: expected a whole number from 1 to 3660"
    ):
        price_plan_upsert(
            actor=actor,
            code="P1",
            product="DATA",
            rates=[{"effective_from": "2026-01-01", "price_per_period": "30", "period_days": 0}],
        )
    with pytest.raises(DomainError, match="product: no product 'NOPE'"):
        price_plan_upsert(actor=actor, code="P1", product="NOPE", rates=[])
    plan = price_plan_upsert(
        actor=actor,
        code="P1",
        product="DATA",
        rates=[{"effective_from": "2026-01-01", "price_per_period": "30.00", "period_days": 30}],
    )
    price_plan_upsert(
        actor=actor,
        code="P1",
        product="DATA",
        rates=[{"effective_from": "2026-02-01", "price_per_period": "36.00", "period_days": 30}],
    )
    assert list(plan.rates.values_list("effective_from", "price_per_period")) == [
        (D(2026, 1, 1), Decimal("30.00")),
        (D(2026, 2, 1), Decimal("36.00")),
    ]
    b.product(world.tenant, "VOICE")
    with pytest.raises(DomainError, match="product: price plan 'P1' belongs to product 'DATA'"):
        price_plan_upsert(actor=actor, code="P1", product="VOICE")
    with pytest.raises(Conflict, match="'DATA' already has the standalone price plan 'P1'"):
        price_plan_upsert(
            actor=actor,
            code="P2",
            product="DATA",
            rates=[{"effective_from": "2026-01-01", "price_per_period": "1", "period_days": 30}],
        )
    assert actions(world) == ["PricePlan.create", "PricePlan.update"]


def test_bundle_components_and_component_plan(world):
    actor = world.actor()
    for code in ("TV", "NET", "PACK"):
        b.product(world.tenant, code)
    with pytest.raises(DomainError, match="components: product 'PACK' is not a bundle"):
        product_pricing_update(actor=actor, product="PACK", components=["TV"])
    with pytest.raises(DomainError, match=r"components\[1\]: a bundle cannot be its own component"):
        product_pricing_update(
            actor=actor, product="PACK", bundle_pricing="BOTH", components=["TV", "PACK"]
        )
    with pytest.raises(DomainError, match=r"components\[0\]: no product 'RADIO'"):
        product_pricing_update(
            actor=actor, product="PACK", bundle_pricing="BOTH", components=["RADIO"]
        )
    assert Product.objects.get(tenant=world.tenant, code="PACK").bundle_pricing == ""
    pack = product_pricing_update(
        actor=actor, product="PACK", bundle_pricing="BOTH", components=["TV", "NET"]
    )
    assert pack.bundle_pricing == "BOTH"
    assert sorted(
        BundleComponent.objects.filter(bundle=pack).values_list("component__code", flat=True)
    ) == [
        "NET",
        "TV",
    ]
    b.product(world.tenant, "MEGA")
    with pytest.raises(DomainError, match=r"components\[0\]: 'PACK' is itself a bundle"):
        product_pricing_update(
            actor=actor, product="MEGA", bundle_pricing="BOTH", components=["PACK"]
        )
    with pytest.raises(
        DomainError, match="bundle_pricing: product 'TV' is a component of bundle 'PACK'"
    ):
        product_pricing_update(actor=actor, product="TV", bundle_pricing="BUNDLE")
    plan = price_plan_upsert(
        actor=actor,
        code="TV-IN-PACK",
        product="TV",
        bundle="PACK",
        rates=[{"effective_from": "2026-01-01", "price_per_period": "5.00", "period_days": 30}],
    )
    assert plan.bundle == pack
    b.product(world.tenant, "RADIO")
    with pytest.raises(DomainError, match="product: 'RADIO' is not a component of bundle 'PACK'"):
        price_plan_upsert(
            actor=actor,
            code="R",
            product="RADIO",
            bundle="PACK",
            rates=[{"effective_from": "2026-01-01", "price_per_period": "5", "period_days": 30}],
        )
    # components replace the set; the same set again is no change
    product_pricing_update(actor=actor, product="PACK", components=["TV"])
    product_pricing_update(actor=actor, product="PACK", components=["TV"])
    assert list(
        BundleComponent.objects.filter(bundle=pack).values_list("component__code", flat=True)
    ) == ["TV"]
    assert actions(world).count("Product.pricing_update") == 2


def test_product_tax_class_and_penalty(world):
    actor = world.actor()
    b.product(world.tenant, "DATA")
    tax_class_upsert(
        actor=actor, code="STD", rates=[{"effective_from": "2026-01-01", "rate": "20"}]
    )
    with pytest.raises(DomainError, match="tax_class: no tax class 'RED'"):
        product_pricing_update(actor=actor, product="DATA", tax_class="RED")
    with pytest.raises(DomainError, match="penalty_amount: a FIXED penalty needs an amount"):
        product_pricing_update(actor=actor, product="DATA", penalty_kind="FIXED")
    with pytest.raises(DomainError, match="penalty_amount: expected an amount >= 0"):
        product_pricing_update(
            actor=actor, product="DATA", penalty_kind="FIXED", penalty_amount="-1"
        )
    with pytest.raises(DomainError, match="penalty_kind: expected one of"):
        product_pricing_update(actor=actor, product="DATA", penalty_kind="HUGE")
    p = product_pricing_update(
        actor=actor, product="DATA", tax_class="STD", penalty_kind="FIXED", penalty_amount="25.00"
    )
    assert (p.tax_class.code, p.penalty_kind, p.penalty_amount) == (
        "STD",
        "FIXED",
        Decimal("25.00"),
    )
    # only the given keys change
    p = product_pricing_update(actor=actor, product="DATA", penalty_kind="REMAINING_FEES")
    assert (p.tax_class.code, p.penalty_kind, p.penalty_amount) == ("STD", "REMAINING_FEES", None)
    p = product_pricing_update(actor=actor, product="DATA", tax_class=None)
    assert p.tax_class is None
    entry = AuditEntry.objects.filter(action="Product.pricing_update").order_by("seq").first()
    assert entry.payload["tax_class"] == {"from": None, "to": "STD"}


def test_discounts_automatic_and_ad_hoc(world):
    actor = world.actor()
    acc = b.account(world.tenant, "PP-PR-1")
    w = b.wallet(world.tenant, acc, balance="10.00")
    svc = b.service(world.tenant, acc)
    before = w.changed_at
    auto = discount_upsert(
        actor=actor,
        code="SPRING",
        name="Spring offer",
        kind="PERCENT",
        value="10",
        effective_from="2026-01-01",
        effective_to="2026-01-16",
        product="DATA",
    )
    assert auto.automatic and auto.value == Decimal("10.00")
    adhoc = discount_upsert(
        actor=actor,
        code="GOODWILL",
        kind="FIXED",
        value="3.00",
        period_days=30,
        effective_from="2026-01-01",
        service=svc.external_id,
    )
    assert adhoc.service == svc and not adhoc.automatic
    w.refresh_from_db()
    assert w.changed_at != before  # the ad hoc discount marks the account's wallets changed
    ended = discount_end(
        actor=actor, discount=adhoc, effective_to="2026-02-01", reason="goodwill over"
    )
    assert ended.effective_to == D(2026, 2, 1)
    entry = AuditEntry.objects.get(action="Discount.end")
    assert entry.reason == "goodwill over"
    # the same values again: no change, no entry
    discount_upsert(
        actor=actor,
        code="SPRING",
        kind="PERCENT",
        value="10.00",
        effective_from=D(2026, 1, 1),
        effective_to=D(2026, 1, 16),
        product="DATA",
    )
    assert actions(world) == ["Discount.create", "Discount.create", "Discount.end"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "PERCENT", "value": "0"}, "value: expected a percent above 0 and at most 100"),
        ({"kind": "PERCENT", "value": "100.01"}, "value: expected a percent above 0"),
        ({"kind": "FIXED", "value": "0"}, r"value: expected an amount > 0"),
        ({"kind": "BOGUS", "value": "1"}, "kind: expected one of PERCENT, FIXED"),
        (
            {"kind": "PERCENT", "value": "5", "period_days": 30},
            "period_days: only a FIXED discount",
        ),
        ({"kind": "FIXED", "value": "5", "period_days": 0}, "period_days: expected a whole number"),
        (
            {"kind": "PERCENT", "value": "5", "effective_to": "2026-01-01"},
            r"effective_to: expected a date after effective_from \(2026-01-01\)",
        ),
        ({"kind": "PERCENT", "value": "5", "product": None}, "product: expected a product code"),
        (
            {"kind": "PERCENT", "value": "5", "service": "SVC-X"},
            "product: expected a product code .* not both or neither",
        ),
        ({"kind": "PERCENT", "value": "5", "product": "NOPE"}, "product: no product 'NOPE'"),
        (
            {"kind": "PERCENT", "value": "5", "product": None, "service": "SVC-X"},
            "service: no service 'SVC-X'",
        ),
    ],
)
def test_discount_validation(world, kwargs, message):
    b.product(world.tenant, "DATA")
    args = {"code": "D1", "effective_from": "2026-01-01", "product": "DATA", **kwargs}
    with pytest.raises(DomainError, match=message):
        discount_upsert(actor=world.actor(), **args)
    assert not Discount.objects.exists()


def test_discount_end_needs_a_reason_and_a_later_date(world):
    actor = world.actor()
    b.product(world.tenant, "DATA")
    d = discount_upsert(
        actor=actor,
        code="D1",
        kind="PERCENT",
        value="5",
        effective_from="2026-01-10",
        product="DATA",
    )
    with pytest.raises(DomainError, match="reason"):
        discount_end(actor=actor, discount=d, effective_to="2026-02-01", reason=" ")
    with pytest.raises(
        DomainError, match=r"effective_to: expected a date after effective_from \(2026-01-10\)"
    ):
        discount_end(actor=actor, discount=d, effective_to="2026-01-10", reason="r")
    d.refresh_from_db()
    assert d.effective_to is None


def test_one_active_wallet_definition(world):
    actor = world.actor()
    a = wallet_definition_upsert(
        actor=actor, code="ALL", debit_causes=["USAGE", "PREPAID_BILLING"], active=True
    )
    assert a.debit_causes == ["PREPAID_BILLING", "USAGE"]
    with pytest.raises(
        DomainError, match=r"debit_causes\[1\]: expected one of PREPAID_BILLING, USAGE, MANUAL"
    ):
        wallet_definition_upsert(actor=actor, code="B", debit_causes=["USAGE", "REFUND"])
    with pytest.raises(DomainError, match=r"debit_causes\[1\]: 'USAGE' is listed twice"):
        wallet_definition_upsert(actor=actor, code="B", debit_causes=["USAGE", "USAGE"])
    b_def = wallet_definition_upsert(
        actor=actor, code="USAGE-ONLY", debit_causes=["USAGE"], active=True
    )
    a.refresh_from_db()
    assert b_def.active and not a.active
    assert list(WalletDefinition.objects.filter(active=True).values_list("code", flat=True)) == [
        "USAGE-ONLY"
    ]
    assert actions(world) == [
        "WalletDefinition.create",
        "WalletDefinition.deactivate",
        "WalletDefinition.create",
    ]
    wallet_definition_upsert(actor=actor, code="USAGE-ONLY", debit_causes=["USAGE"], active=True)
    assert len(actions(world)) == 3


def test_service_binding_end(world):
    actor = world.actor()
    acc = b.account(world.tenant, "PP-PR-2")
    b.wallet(world.tenant, acc)
    svc = b.service(world.tenant, acc)
    with pytest.raises(DomainError, match="binding_end:"):
        service_binding_update(actor=actor, service=svc, binding_end="next year")
    row = service_binding_update(actor=actor, service=svc, binding_end="2026-12-31")
    assert row.binding_end == D(2026, 12, 31)
    service_binding_update(actor=actor, service=svc, binding_end=D(2026, 12, 31))
    row = service_binding_update(actor=actor, service=svc, binding_end=None)
    assert row.binding_end is None
    entries = AuditEntry.objects.filter(action="SubscriptionService.binding_update").order_by("seq")
    assert [e.payload["binding_end"] for e in entries] == [
        {"from": None, "to": "2026-12-31"},
        {"from": "2026-12-31", "to": None},
    ]
    assert not PricePlan.objects.exists()


def test_pricing_audit_actions_read_as_words():
    from core.labels import label_for

    assert label_for("Discount.end") == "Discount ended"
    assert label_for("WalletDefinition.deactivate") == "Wallet definition deactivated"
    assert label_for("SubscriptionService.binding_update") == "Service binding end changed"


def test_dates_outside_the_accepted_years_are_refused_as_dates_too(world):
    # the admin's forms hand the services dates, not text: the same years apply
    from datetime import date as day

    from wallets.services.pricing import tax_class_upsert as upsert

    with pytest.raises(DomainError, match=r"rates\[0\]\.effective_from"):
        upsert(
            actor=world.actor(),
            code="STD",
            rates=[{"effective_from": day(9999, 12, 31), "rate": 5}],
        )
    assert not TaxClass.objects.filter(tenant=world.tenant).exists()


def test_upserting_the_active_definition_without_active_keeps_it_active(world):
    actor = world.actor()
    wallet_definition_upsert(actor=actor, code="W", debit_causes=["USAGE"], active=True)
    row = wallet_definition_upsert(actor=actor, code="W", name="Renamed", debit_causes=["USAGE"])
    assert (row.name, row.active) == ("Renamed", True)
    new = wallet_definition_upsert(actor=actor, code="W2", debit_causes=["USAGE"])
    assert new.active is False
