"""load_prepaid, topup_wallet and wallet_show: one JSON line each, clear errors."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import scopes as S
from tests.wallets import builders as b
from wallets.models import Subscription, SubscriptionService, Wallet, WalletTransaction

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "prepaid-example.json"


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


@pytest.fixture
def loaded(world):
    for number in ("PP-1001", "PP-1002"):
        b.account(world.tenant, number)
    return run("load_prepaid", "--tenant", world.tenant.slug, str(EXAMPLE))


def test_load_prepaid_prints_its_counters(world, loaded):
    assert loaded["wallets"] == 2 and loaded["services"] == 3 and loaded["usage"] == 2
    assert loaded["created"]["opening_credits"] == 2
    again = run("load_prepaid", "--tenant", world.tenant.slug, str(EXAMPLE))
    assert set(again["created"].values()) == {0}
    assert WalletTransaction.objects.filter(tenant=world.tenant).count() == 2


def test_load_prepaid_lists_every_error_and_writes_nothing(world, tmp_path):
    b.account(world.tenant, "PP-1001")
    data = json.loads(EXAMPLE.read_text())
    data["subscriptions"][0]["services"][0]["period_days"] = -3
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(data))
    with pytest.raises(CommandError) as err:
        run("load_prepaid", "--tenant", world.tenant.slug, str(f))
    message = str(err.value)
    assert "nothing was loaded" in message
    assert "wallets[1].account: no account numbered 'PP-1002'" in message
    assert (
        "subscriptions[0].services[0].period_days: expected a whole number from 1 to 3660"
        in message
    )
    assert "subscriptions[1].account: no account numbered 'PP-1002'" in message
    assert not Wallet.objects.filter(tenant=world.tenant).exists()
    assert not Subscription.objects.filter(tenant=world.tenant).exists()


def test_load_prepaid_refuses_unreadable_files_and_unknown_tenants(world, tmp_path):
    f = tmp_path / "x.json"
    f.write_text("{not json")
    with pytest.raises(CommandError, match="cannot read JSON"):
        run("load_prepaid", "--tenant", world.tenant.slug, str(f))
    with pytest.raises(CommandError, match="No tenant"):
        run("load_prepaid", "--tenant", "nobody", str(EXAMPLE))


def test_topup_wallet_prints_the_new_balance(world, loaded):
    user = world.users[S.Role.BILLING_MANAGER].username
    out = run(
        "topup_wallet",
        "--tenant",
        world.tenant.slug,
        "--account",
        "PP-1002",
        "--amount",
        "50.00",
        "--reference",
        "BANK-9",
        "--user",
        user,
    )
    w = Wallet.objects.get(account__number="PP-1002")
    tx = WalletTransaction.objects.get(cause="TOP_UP")
    assert out == {"wallet": w.pk, "transaction": tx.pk, "amount": "50.00", "balance": "58.00"}
    assert w.balance == Decimal("58.00")


@pytest.mark.parametrize(
    ("role", "amount", "message"),
    [
        (S.Role.VIEWER, "5.00", "may not top up"),
        (S.Role.OPERATIONS, "5.00", "may not top up"),
        (S.Role.OWNER, "5.001", "amount: expected"),
        (S.Role.OWNER, "0", "amount: expected"),
        (S.Role.OWNER, "2000000.00", "amount: expected at most"),
    ],
)
def test_topup_wallet_refusals(world, loaded, role, amount, message):
    with pytest.raises(CommandError, match=message):
        run(
            "topup_wallet",
            "--tenant",
            world.tenant.slug,
            "--account",
            "PP-1002",
            "--amount",
            amount,
            "--reference",
            "R",
            "--user",
            world.users[role].username,
        )
    assert Wallet.objects.get(account__number="PP-1002").balance == Decimal("8.00")


def test_commands_find_the_wallet_by_a_lower_case_currency(world, loaded):
    # PP-1001 gets a second wallet, so the currency must be named; "usd" is USD
    b.wallet(world.tenant, b.account(world.tenant, "PP-1001"), currency="EUR", balance="3.00")
    owner = world.users[S.Role.OWNER].username
    args = ("--tenant", world.tenant.slug, "--account", "PP-1001", "--currency")
    out = run("topup_wallet", *args, "usd", "--amount", "5.00", "--reference", "R", "--user", owner)
    usd = Wallet.objects.get(account__number="PP-1001", currency="USD")
    assert (out["wallet"], out["balance"]) == (usd.pk, "125.00")
    assert run("wallet_show", *args, " eur ")["balance"] == "3.00"
    with pytest.raises(CommandError, match="no wallet in GBP for account 'PP-1001'"):
        run("wallet_show", *args, "gbp")


def test_topup_wallet_refuses_an_outsider_and_an_unknown_account(world, loaded):
    with pytest.raises(CommandError, match="may not top up"):
        run(
            "topup_wallet",
            "--tenant",
            world.tenant.slug,
            "--account",
            "PP-1002",
            "--amount",
            "5.00",
            "--reference",
            "R",
            "--user",
            world.outsider.username,
        )
    with pytest.raises(CommandError, match="no wallet for account 'PP-9999'"):
        run(
            "topup_wallet",
            "--tenant",
            world.tenant.slug,
            "--account",
            "PP-9999",
            "--amount",
            "5.00",
            "--reference",
            "R",
            "--user",
            world.users[S.Role.OWNER].username,
        )


def test_wallet_show_prints_exactly_the_issue_shape(world, loaded):
    w = Wallet.objects.get(account__number="PP-1001")
    w.estimated_consumption_days = 40
    w.estimated_consumption_date = date(2026, 3, 12)
    w.save()
    user = world.users[S.Role.OWNER].username
    run(
        "topup_wallet",
        "--tenant",
        world.tenant.slug,
        "--account",
        "PP-1001",
        "--amount",
        "12.50",
        "--reference",
        "R",
        "--user",
        user,
    )
    SubscriptionService.objects.filter(external_id="SVC-1001-DATA").update(
        prepayment_state="INVALID"
    )
    out = run("wallet_show", "--tenant", world.tenant.slug, "--account", "PP-1001")
    assert out == {
        "balance": "132.50",
        "available": "132.50",
        "estimated_consumption_days": 40,
        "estimated_consumption_date": "2026-03-12",
        "transactions": [
            {"kind": "CREDIT", "amount": "120.00", "service": None},
            {"kind": "CREDIT", "amount": "12.50", "service": None},
        ],
        "services": [
            {"external_id": "SVC-1001-DATA", "prepayment_state": "INVALID", "rated_up_to": None},
            {
                "external_id": "SVC-1001-VOICE",
                "prepayment_state": "VALID",
                "rated_up_to": "2026-01-01",
            },
        ],
    }


def test_wallet_show_names_the_debited_service(world):
    acc = b.account(world.tenant, "PP-2001")
    w = b.wallet(world.tenant, acc, balance="10.00")
    svc = b.service(world.tenant, acc)
    from django.db import transaction

    from wallets.services.ledger import wallet_lock, wallet_post

    with transaction.atomic():
        locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
        wallet_post(wallet=locked, amount=Decimal("-3.10"), cause="PREPAID_BILLING", service=svc)
    out = run("wallet_show", "--tenant", world.tenant.slug, "--account", "PP-2001")
    assert out["balance"] == "6.90"
    assert out["estimated_consumption_days"] is None and out["estimated_consumption_date"] is None
    assert out["transactions"][-1] == {
        "kind": "DEBIT",
        "amount": "-3.10",
        "service": svc.external_id,
    }
    with pytest.raises(CommandError, match="no wallet for account 'NOPE'"):
        run("wallet_show", "--tenant", world.tenant.slug, "--account", "NOPE")
