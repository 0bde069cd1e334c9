"""load_prepaid's pricing sections: the example file loads, re-loads change nothing, every error is
named by its JSON path and an invalid file stores nothing."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlan,
    PricePlanRate,
    Product,
    SubscriptionService,
    TaxClass,
    TaxRate,
    WalletDefinition,
)
from wallets.services.loading import prepaid_load

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "prepaid-pricing-example.json"
D = date


@pytest.fixture
def example() -> dict:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture
def account(world):
    acc = b.account(world.tenant, "DEMO-2001")
    b.wallet(world.tenant, acc, balance="100.00")
    return acc


def load(world, data):
    return prepaid_load(actor=Actor.system_for(world.tenant), data=data)


def pricing_snapshot(tenant) -> dict:
    return {
        "tax": list(
            TaxRate.objects.filter(tenant=tenant)
            .order_by("tax_class__code", "effective_from")
            .values_list("tax_class__code", "effective_from", "rate")
        ),
        "products": list(
            Product.objects.filter(tenant=tenant)
            .order_by("code")
            .values_list(
                "code", "tax_class__code", "bundle_pricing", "penalty_kind", "penalty_amount"
            )
        ),
        "components": sorted(
            BundleComponent.objects.filter(tenant=tenant).values_list(
                "bundle__code", "component__code"
            )
        ),
        "rates": list(
            PricePlanRate.objects.filter(tenant=tenant)
            .order_by("plan__code", "effective_from")
            .values_list(
                "plan__code",
                "plan__bundle__code",
                "effective_from",
                "price_per_period",
                "period_days",
            )
        ),
        "discounts": list(
            Discount.objects.filter(tenant=tenant)
            .order_by("code")
            .values_list(
                "code",
                "kind",
                "value",
                "period_days",
                "effective_from",
                "effective_to",
                "product__code",
                "service__external_id",
            )
        ),
        "definitions": list(
            WalletDefinition.objects.filter(tenant=tenant).values_list(
                "code", "debit_causes", "active"
            )
        ),
        "binding": list(
            SubscriptionService.objects.filter(tenant=tenant)
            .order_by("external_id")
            .values_list("external_id", "binding_end")
        ),
    }


def test_example_file_loads_every_pricing_section(world, account, example):
    out = load(world, example)
    assert out["created"] == {
        "products": 4,
        "wallets": 0,
        "subscriptions": 1,
        "services": 2,
        "usage": 0,
        "opening_credits": 0,
        "tax_classes": 1,
        "bundles": 1,
        "price_plans": 5,
        "discounts": 2,
        "wallet_definition": 1,
    }
    assert (out["tax_classes"], out["price_plans"], out["discounts"], out["wallet_definition"]) == (
        1,
        5,
        2,
        1,
    )
    snap = pricing_snapshot(world.tenant)
    assert snap["tax"] == [
        ("STD", D(2026, 1, 1), Decimal("20.0000")),
        ("STD", D(2026, 12, 1), Decimal("21.0000")),
    ]
    assert snap["products"] == [
        ("FIBER", "STD", "", "REMAINING_FEES", None),
        ("HOME-PACK", "STD", "BOTH", "", None),
        ("PHONE", "STD", "", "FIXED", Decimal("25.00")),
        ("TV", "STD", "", "", None),
    ]
    assert snap["components"] == [("HOME-PACK", "PHONE"), ("HOME-PACK", "TV")]
    assert ("FIBER-STD", None, D(2026, 11, 16), Decimal("36.00"), 30) in snap["rates"]
    assert ("TV-IN-HOME-PACK", "HOME-PACK", D(2026, 1, 1), Decimal("9.00"), 30) in snap["rates"]
    assert snap["discounts"] == [
        (
            "FIBER-LAUNCH",
            "PERCENT",
            Decimal("10.00"),
            None,
            D(2026, 11, 1),
            D(2026, 11, 16),
            "FIBER",
            None,
        ),
        (
            "HOME-GOODWILL",
            "FIXED",
            Decimal("3.00"),
            30,
            D(2026, 11, 1),
            None,
            None,
            "DEMO-2001-HOME",
        ),
    ]
    assert snap["definitions"] == [("PREPAID-STD", ["PREPAID_BILLING", "USAGE", "MANUAL"], True)]
    assert snap["binding"] == [("DEMO-2001-FIBER", D(2027, 5, 1)), ("DEMO-2001-HOME", None)]


def test_reloading_the_example_changes_nothing(world, account, example):
    load(world, example)
    before = pricing_snapshot(world.tenant)
    audits = AuditEntry.objects.count()
    out = load(world, copy.deepcopy(example))
    assert pricing_snapshot(world.tenant) == before
    assert AuditEntry.objects.count() == audits
    assert set(out["created"].values()) == {0}
    assert set(out["updated"].values()) == {0}


def test_reload_counts_what_changed(world, account, example):
    load(world, example)
    changed = copy.deepcopy(example)
    changed["tax_classes"][0]["rates"].append({"effective_from": "2027-01-01", "rate": "22"})
    changed["price_plans"][0]["rates"][1]["price_per_period"] = "37.00"
    changed["discounts"][0]["effective_to"] = "2026-11-20"
    changed["subscriptions"][0]["services"][0]["binding_end"] = "2027-06-01"
    changed["wallet_definition"] = {"code": "USAGE-ONLY", "debit_causes": ["USAGE"]}
    out = load(world, changed)
    assert out["created"]["wallet_definition"] == 1
    assert {
        k: out["updated"][k] for k in ("tax_classes", "price_plans", "discounts", "services")
    } == {
        "tax_classes": 1,
        "price_plans": 1,
        "discounts": 1,
        "services": 1,
    }
    assert list(WalletDefinition.objects.filter(active=True).values_list("code", flat=True)) == [
        "USAGE-ONLY"
    ]
    fiber = SubscriptionService.objects.get(external_id="DEMO-2001-FIBER")
    assert fiber.binding_end == D(2027, 6, 1)
    assert PricePlanRate.objects.get(
        plan__code="FIBER-STD", effective_from=D(2026, 11, 16)
    ).price_per_period == (Decimal("37.00"))


def test_every_error_is_named_by_its_path_and_nothing_is_stored(world, account, example):
    bad = copy.deepcopy(example)
    bad["price_plans"][0]["rates"][1]["effective_from"] = "16/11/2026"
    bad["price_plans"][1]["rates"][0]["period_days"] = 0
    bad["tax_classes"][0]["rates"][0]["rate"] = "120"
    bad["discounts"][0]["value"] = "0"
    bad["discounts"][1]["service"] = "NO-SUCH-SERVICE"
    bad["bundles"][0]["components"].append("HOME-PACK")
    bad["products"][0]["tax_class"] = "REDUCED"
    bad["wallet_definition"]["debit_causes"] = ["USAGE", "REFUND"]
    bad["subscriptions"][0]["services"][0]["binding_end"] = "soon"
    with pytest.raises(DomainError) as err:
        load(world, bad)
    errors = err.value.details["errors"]
    for expected in (
        "price_plans[0].rates[1].effective_from:",
        "price_plans[1].rates[0].period_days: expected a whole number from 1 to 3660",
        "tax_classes[0].rates[0].rate: expected a percent from 0 to 100",
        "discounts[0].value: expected a percent above 0 and at most 100",
        "discounts[1].service: no service 'NO-SUCH-SERVICE' in the file or this tenant",
        "bundles[0].components[2]: a bundle cannot be its own component",
        "products[0].tax_class: no tax class 'REDUCED' in the file or this tenant",
        "wallet_definition.debit_causes[1]: expected one of PREPAID_BILLING, USAGE, MANUAL",
        "subscriptions[0].services[0].binding_end:",
    ):
        assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert not TaxClass.objects.filter(tenant=world.tenant).exists()
    assert not PricePlan.objects.filter(tenant=world.tenant).exists()
    assert not SubscriptionService.objects.filter(tenant=world.tenant).exists()
    assert not Product.objects.filter(tenant=world.tenant).exists()


def test_a_refusal_found_while_writing_stores_nothing(world, account, example):
    # FIBER already has a standalone plan under another code: only the write finds it
    from tests.wallets import pricing_builders as pb

    pb.price_plan(world.tenant, "FIBER", code="OLD-FIBER")
    with pytest.raises(DomainError) as err:
        load(world, example)
    assert err.value.details["errors"] == [
        "price_plans[0].product: 'FIBER' already has the standalone price plan 'OLD-FIBER'"
    ]
    assert "nothing was loaded" in err.value.message
    assert not TaxClass.objects.filter(tenant=world.tenant).exists()
    assert list(PricePlan.objects.values_list("code", flat=True)) == ["OLD-FIBER"]
    assert list(Product.objects.values_list("code", flat=True)) == ["FIBER"]


def test_unknown_fields_and_products_are_errors(world, account):
    data = {
        "price_plans": [
            {"code": "P", "product": "GHOST", "rates": [], "colour": "red"},
        ],
        "discounts": [
            {"code": "D", "kind": "PERCENT", "value": "5", "effective_from": "2026-01-01"}
        ],
        "wallet_definition": {"code": "W", "debit_causes": [], "active": "yes"},
    }
    with pytest.raises(DomainError) as err:
        load(world, data)
    errors = err.value.details["errors"]
    assert (
        "price_plans[0].colour: unknown field (expected bundle, code, name, product, rates)"
        in errors
    )
    assert "price_plans[0].product: no product 'GHOST' in the file or this tenant" in errors
    assert (
        "discounts[0].product: expected a product code (automatic discount) or a service "
        "(ad hoc discount), not both or neither" in errors
    )
    assert "wallet_definition.active: expected true or false" in errors


def test_command_loads_the_example_with_file_option(world, account):
    out = StringIO()
    call_command("load_prepaid", "--tenant", world.tenant.slug, "--file", str(EXAMPLE), stdout=out)
    counters = json.loads(out.getvalue())
    assert counters["created"]["price_plans"] == 5
    with pytest.raises(CommandError, match="Give the file once"):
        call_command("load_prepaid", "--tenant", world.tenant.slug, stdout=StringIO())


def test_a_new_plan_without_rates_is_refused_by_path(world, account):
    data = {
        "products": [{"code": "FIBER"}],
        "price_plans": [{"code": "FIBER-STD", "product": "FIBER"}],
    }
    with pytest.raises(DomainError) as err:
        load(world, data)
    assert err.value.details["errors"] == [
        "price_plans[0].rates: a new price plan needs at least one rate"
    ]
    assert not Product.objects.filter(tenant=world.tenant).exists()


def test_load_is_audited_per_row_and_counts_product_changes(world, account, example):
    load(world, example)
    actions = list(
        AuditEntry.objects.filter(tenant=world.tenant, action__contains=".")
        .exclude(action__startswith="Subscription")
        .values_list("action", flat=True)
    )
    assert actions.count("PricePlan.create") == 5
    assert actions.count("Discount.create") == 2
    assert actions.count("WalletDefinition.create") == 1
    changed = copy.deepcopy(example)
    changed["products"][1]["penalty_amount"] = "30.00"
    out = load(world, changed)
    assert out["updated"]["products"] == 1
    assert Product.objects.get(code="PHONE").penalty_amount == Decimal("30.00")


def test_a_penalty_kind_that_is_not_text_is_refused_by_path(world, account, example):
    bad = copy.deepcopy(example)
    bad["products"][0]["penalty_kind"] = {}
    with pytest.raises(DomainError) as err:
        load(world, bad)
    assert any(e.startswith("products[0].penalty_kind:") for e in err.value.details["errors"])
    assert not Product.objects.filter(tenant=world.tenant, penalty_kind="").exists()


def test_an_ad_hoc_discount_names_a_service_by_its_full_80_character_id(world, account, example):
    long_id = "S" * 80
    data = copy.deepcopy(example)
    data["subscriptions"][0]["services"][0]["external_id"] = long_id
    data["discounts"][1]["service"] = long_id
    load(world, data)
    from wallets.models import Discount

    assert Discount.objects.get(tenant=world.tenant, service__external_id=long_id)
