"""load_prepaid: all or nothing, every error by path, idempotent re-loads."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.actors import Actor
from core.exceptions import DomainError
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import (
    Product,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    UsageRecord,
    Wallet,
    WalletTransaction,
)
from wallets.services.loading import prepaid_load

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "prepaid-example.json"


@pytest.fixture
def example() -> dict:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture
def accounts(world):
    return [b.account(world.tenant, n) for n in ("PP-1001", "PP-1002")]


def snapshot(tenant) -> dict:
    """Everything a load can write, as plain values."""
    return {
        "wallets": list(
            Wallet.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list(
                "account__number",
                "currency",
                "balance",
                "min_balance_threshold",
                "stop_service_threshold",
                "restrict_below_stop",
            )
        ),
        "ledger": list(
            WalletTransaction.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list("wallet__account__number", "kind", "amount", "cause")
        ),
        "subs": list(
            Subscription.objects.filter(tenant=tenant).values_list("external_id", "account__number")
        ),
        "services": list(
            SubscriptionService.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list(
                "external_id",
                "product__code",
                "price_per_period",
                "period_days",
                "rating",
                "rated_up_to",
            )
        ),
        "periods": list(
            ServiceStatePeriod.objects.filter(tenant=tenant)
            .order_by("service_id", "start")
            .values_list("service__external_id", "state", "start", "end")
        ),
        "usage": list(
            UsageRecord.objects.filter(tenant=tenant)
            .order_by("id")
            .values_list(
                "service__external_id",
                "amount",
                "directive",
                "billing_effective_date",
                "external_id",
            )
        ),
        "products": list(Product.objects.filter(tenant=tenant).values_list("code", flat=True)),
    }


def load(world, data):
    return prepaid_load(actor=Actor.system_for(world.tenant), data=data)


def test_example_file_loads_everything(world, accounts, example):
    out = load(world, example)
    assert out["wallets"] == 2 and out["subscriptions"] == 2
    assert out["services"] == 3 and out["usage"] == 2
    assert out["created"] == {
        "products": 2,
        "wallets": 2,
        "subscriptions": 2,
        "services": 3,
        "usage": 2,
        "opening_credits": 2,
    }
    snap = snapshot(world.tenant)
    assert snap["wallets"] == [
        ("PP-1001", "USD", Decimal("120.00"), Decimal("5.00"), Decimal("0.00"), False),
        ("PP-1002", "USD", Decimal("8.00"), Decimal("0.00"), Decimal("2.00"), True),
    ]
    assert snap["ledger"] == [
        ("PP-1001", "CREDIT", Decimal("120.00"), "OPENING_BALANCE"),
        ("PP-1002", "CREDIT", Decimal("8.00"), "OPENING_BALANCE"),
    ]
    voice = SubscriptionService.objects.get(external_id="SVC-1001-VOICE")
    assert (voice.rating, voice.rated_up_to) == ("POST", date(2026, 1, 1))
    assert list(voice.periods.values_list("state", "start", "end")) == [
        ("ACTIVE", date(2026, 1, 1), date(2026, 1, 20)),
        ("SUSPENDED", date(2026, 1, 20), None),
    ]
    assert sorted(UsageRecord.objects.values_list("directive", "amount")) == [
        ("TO_BE_BILLED", Decimal("2.40")),
        ("TO_BE_CREDITED", Decimal("1.00")),
    ]


def test_reload_changes_nothing_and_writes_no_second_credit(world, accounts, example):
    load(world, example)
    before = snapshot(world.tenant)
    audits = AuditEntry.objects.count()
    out = load(world, copy.deepcopy(example))
    assert snapshot(world.tenant) == before
    assert AuditEntry.objects.count() == audits
    assert set(out["created"].values()) == {0}
    assert set(out["updated"].values()) == {0}


def test_reload_after_a_run_never_rewinds_rated_up_to(world, accounts, example):
    load(world, example)
    SubscriptionService.objects.filter(external_id="SVC-1001-VOICE").update(
        rated_up_to=date(2026, 2, 1)
    )
    load(world, example)
    voice = SubscriptionService.objects.get(external_id="SVC-1001-VOICE")
    assert voice.rated_up_to == date(2026, 2, 1)


def test_reload_updates_thresholds_price_and_periods(world, accounts, example):
    load(world, example)
    changed = copy.deepcopy(example)
    changed["wallets"][0]["min_balance_threshold"] = "10.00"
    changed["wallets"][0]["opening_balance"] = "999.00"  # an opening balance is written once
    svc = changed["subscriptions"][0]["services"][0]
    svc["price_per_period"] = "33.00"
    svc["periods"] = [
        {"state": "ACTIVE", "start": "2026-01-01", "end": "2026-03-01"},
        {"state": "CANCELLED", "start": "2026-03-01", "end": None},
    ]
    changed["usage"].append(dict(changed["usage"][0]))  # a second identical record
    out = load(world, changed)
    assert out["updated"] == {"wallets": 1, "services": 1, "periods": 1, "usage": 0}
    assert out["created"]["usage"] == 1 and out["created"]["opening_credits"] == 0
    w = Wallet.objects.get(account__number="PP-1001")
    assert (w.min_balance_threshold, w.balance) == (Decimal("10.00"), Decimal("120.00"))
    data = SubscriptionService.objects.get(external_id="SVC-1001-DATA")
    assert data.price_per_period == Decimal("33.00")
    assert list(data.periods.values_list("state", "end")) == [
        ("ACTIVE", date(2026, 3, 1)),
        ("CANCELLED", None),
    ]
    assert UsageRecord.objects.filter(amount=Decimal("2.40")).count() == 2
    load(world, changed)
    assert UsageRecord.objects.filter(amount=Decimal("2.40")).count() == 2


def test_existing_wallet_without_opening_gets_one_credit(world, accounts, example):
    b.wallet(world.tenant, accounts[0])  # no opening balance yet
    load(world, example)
    load(world, example)
    w = Wallet.objects.get(account=accounts[0])
    assert w.balance == Decimal("120.00")
    assert list(w.transactions.values_list("cause", flat=True)) == ["OPENING_BALANCE"]


def _broken(example: dict) -> dict:
    bad = copy.deepcopy(example)
    bad["wallets"][0]["min_balance_threshold"] = "abc"  # bad type
    bad["wallets"][1]["account"] = "NOPE-1"  # unknown account
    sub = bad["subscriptions"][0]
    sub["services"][0]["price_per_period"] = "-1.00"  # negative price
    sub["services"][0]["rated_up_to"] = "2026-02-30"  # bad date
    sub["services"][1]["rating"] = "WEEKLY"  # unknown rating
    sub["services"][1]["periods"][0]["end"] = "2025-12-01"  # end before start
    sub["services"][1]["period_days"] = 0
    bad["subscriptions"][1]["services"][0]["external_id"] = "SVC-1001-DATA"  # duplicate
    bad["usage"][0]["billing_effective_date"] = "12/01/2026"
    bad["usage"][1]["amount"] = 5  # ints are fine
    bad["usage"][1]["directive"] = "LATER"
    bad["usage"].append(
        {
            "service": "SVC-MISSING",
            "amount": "1.00",
            "directive": "TO_BE_BILLED",
            "billing_effective_date": "2026-01-01",
            "colour": "red",
        }
    )
    return bad


def test_errors_are_all_named_by_path_and_nothing_is_written(world, accounts, example):
    before = snapshot(world.tenant)
    with pytest.raises(DomainError) as err:
        load(world, _broken(example))
    errors = err.value.details["errors"]
    expected_prefixes = [
        "wallets[0].min_balance_threshold: expected an amount >= 0",
        "wallets[1].account: no account numbered 'NOPE-1'",
        "subscriptions[0].services[0].price_per_period: expected an amount >= 0",
        "subscriptions[0].services[0].rated_up_to: expected YYYY-MM-DD",
        "subscriptions[0].services[1].rating: expected one of PRE, POST",
        "subscriptions[0].services[1].period_days: expected a whole number from 1 to 3660",
        "subscriptions[0].services[1].periods[0].end: expected a date after start",
        "subscriptions[1].services[0].external_id: duplicate 'SVC-1001-DATA' "
        "(also subscriptions[0].services[0])",
        "usage[0].billing_effective_date: expected YYYY-MM-DD",
        "usage[1].directive: expected one of TO_BE_BILLED, TO_BE_CREDITED, CANCELLED",
        "usage[2].colour: unknown field",
        "usage[2].service: no service 'SVC-MISSING'",
    ]
    for prefix in expected_prefixes:
        assert any(e.startswith(prefix) for e in errors), (prefix, errors)
    assert len(errors) == len(expected_prefixes), errors
    assert err.value.message.startswith(f"{len(errors)} error(s), nothing was loaded")
    assert snapshot(world.tenant) == before


def test_one_bad_field_in_a_big_file_writes_nothing(world, accounts, example):
    bad = copy.deepcopy(example)
    bad["usage"][1]["amount"] = "0.001"
    with pytest.raises(DomainError) as err:
        load(world, bad)
    assert err.value.details["errors"] == [
        "usage[1].amount: expected an amount > 0 with at most 2 decimals"
    ]
    assert not Wallet.objects.filter(tenant=world.tenant).exists()
    assert not AuditEntry.objects.filter(action__startswith="Wallet").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "$: expected an object"),
        ({"wallets": {}}, "wallets: expected a list"),
        ({"wallets": [1]}, "wallets[0]: expected an object"),
        (
            {"wallets": [{"account": "PP-1001", "currency": "usd"}]},
            "wallets[0].currency: expected a 3-letter code",
        ),
        (
            {"wallets": [{"account": "PP-1001", "restrict_below_stop": "yes"}]},
            "wallets[0].restrict_below_stop: expected true or false",
        ),
        (
            {"subscriptions": [{"account": "PP-1001", "external_id": ""}]},
            "subscriptions[0].external_id: expected a non-empty text",
        ),
        (
            {
                "subscriptions": [
                    {
                        "account": "PP-1001",
                        "external_id": "S",
                        "services": [
                            {
                                "external_id": "X",
                                "product": "D",
                                "price_per_period": "1.00",
                                "period_days": 1.5,
                                "rating": "PRE",
                            }
                        ],
                    }
                ]
            },
            "subscriptions[0].services[0].period_days: expected a whole number from 1 to 3660",
        ),
        (
            {
                "subscriptions": [
                    {
                        "account": "PP-1001",
                        "external_id": "S",
                        "services": [
                            {
                                "external_id": "X",
                                "product": "D",
                                "price_per_period": "1.00",
                                "period_days": 1,
                                "rating": "PRE",
                                "periods": [
                                    {"state": "ACTIVE", "start": "2026-01-01"},
                                    {"state": "SUSPENDED", "start": "2026-02-01"},
                                ],
                            }
                        ],
                    }
                ]
            },
            "subscriptions[0].services[0].periods[1]: overlaps "
            "subscriptions[0].services[0].periods[0]",
        ),
        (
            {"wallets": [{"account": "PP-1001"}, {"account": "PP-1001", "currency": "USD"}]},
            "wallets[1]: duplicate wallet of account 'PP-1001' in USD (also wallets[0])",
        ),
    ],
)
def test_shape_errors_by_path(world, accounts, data, message):
    with pytest.raises(DomainError) as err:
        load(world, data)
    assert any(e.startswith(message) for e in err.value.details["errors"]), err.value.details
    assert not Wallet.objects.filter(tenant=world.tenant).exists()
    assert not Subscription.objects.filter(tenant=world.tenant).exists()


def test_a_known_service_cannot_move_or_change_rating(world, accounts, example):
    load(world, example)
    bad = copy.deepcopy(example)
    moved = bad["subscriptions"][0]["services"].pop(0)
    moved["rating"] = "POST"
    bad["subscriptions"][1]["services"].append(moved)
    with pytest.raises(DomainError) as err:
        load(world, bad)
    errors = err.value.details["errors"]
    assert (
        "subscriptions[1].services[1].external_id: service 'SVC-1001-DATA' belongs to "
        "subscription 'SUB-1001-A'" in errors
    )
    assert (
        "subscriptions[1].services[1].rating: service 'SVC-1001-DATA' is PRE; "
        "the rating cannot change" in errors
    )


def test_a_rated_usage_record_cannot_change_by_reload(world, accounts, example):
    load(world, example)
    UsageRecord.objects.filter(external_id="CDR-77").update(state="RATED")
    bad = copy.deepcopy(example)
    bad["usage"][1]["amount"] = "7.00"
    with pytest.raises(DomainError) as err:
        load(world, bad)
    assert err.value.details["errors"] == [
        "usage[1]: usage 'CDR-77' is already RATED and cannot change"
    ]
    load(world, example)  # unchanged: fine
