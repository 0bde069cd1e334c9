"""Wallets API: list and detail figures, the ledger in cursor pages, idempotent top-ups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import (
    PrepaidBillingRun,
    Product,
    RatedItem,
    WalletProductConsumption,
    WalletTransaction,
)
from wallets.services.ledger import wallet_topup

OWNER, OPS, VIEWER = S.Role.OWNER, S.Role.OPERATIONS, S.Role.VIEWER


def test_wallet_list_shows_balances_and_filters_by_account_currency_and_low(world):
    healthy = b.wallet(world.tenant, b.account(world.tenant, "PP-HEALTHY"), balance="250.00")
    low = b.wallet(
        world.tenant, b.account(world.tenant, "PP-LOW"), balance="4.00", min_balance="10.00"
    )
    b.wallet(world.tenant, healthy.account, balance="9.00", currency="EUR")
    b.wallet(world.other_tenant, b.account(world.other_tenant, "PP-OTHER"), balance="1.00")
    client = world.client(VIEWER)

    body = client.get("/api/wallets").json()
    rows = {(r["account"], r["currency"]): r for r in body["results"]}
    assert set(rows) == {("PP-HEALTHY", "USD"), ("PP-HEALTHY", "EUR"), ("PP-LOW", "USD")}
    assert rows[("PP-HEALTHY", "USD")]["balance"] == "250.00"
    assert rows[("PP-HEALTHY", "USD")]["available"] == "250.00"
    assert rows[("PP-LOW", "USD")]["min_balance_threshold"] == "10.00"

    by_account = client.get("/api/wallets", {"account": "PP-HEALTHY"}).json()["results"]
    assert {r["currency"] for r in by_account} == {"USD", "EUR"}
    in_eur = client.get("/api/wallets", {"currency": "eur"}).json()["results"]
    assert [(r["account"], r["balance"]) for r in in_eur] == [("PP-HEALTHY", "9.00")]
    only_low = client.get("/api/wallets", {"low": "true"}).json()["results"]
    assert [r["id"] for r in only_low] == [low.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"currency": "EURO"}, "currency"),
        ({"low": "maybe"}, "low"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_wallet_list_refuses_bad_filters_naming_them(world, query, field):
    response = world.client(VIEWER).get("/api/wallets", query)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_wallet_detail_shows_available_thresholds_estimates_and_consumptions(world):
    acc = b.account(world.tenant, "PP-DETAIL")
    w = b.wallet(
        world.tenant,
        acc,
        balance="90.00",
        min_balance="5.00",
        stop_service="2.50",
        restrict_below_stop=True,
    )
    w.daily_burn = Decimal("1.5000")
    w.estimated_consumption_days = 60
    w.estimated_consumption_date = date(2026, 4, 1)
    w.estimated_as_of = date(2026, 1, 31)
    w.save()
    for code, burn, amount, days in [
        ("DATA", "1.0000", "60.00", 60),
        ("VOICE", "0.5000", "30.00", 60),
    ]:
        WalletProductConsumption.objects.create(
            tenant=world.tenant,
            wallet=w,
            product=Product.objects.get_or_create(tenant=world.tenant, code=code)[0],
            daily_burn=Decimal(burn),
            available_amount=Decimal(amount),
            estimated_consumption_days=days,
            estimated_consumption_date=date(2026, 4, 1),
            estimated_as_of=date(2026, 1, 31),
        )

    response = world.client(VIEWER).get(f"/api/wallets/{w.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["account"] == "PP-DETAIL"
    assert (body["balance"], body["available"]) == ("90.00", "90.00")
    assert (body["min_balance_threshold"], body["stop_service_threshold"]) == ("5.00", "2.50")
    assert body["restrict_below_stop"] is True
    assert body["daily_burn"] == "1.5000"
    assert body["estimated_consumption_days"] == 60
    assert body["estimated_consumption_date"] == "2026-04-01"
    assert body["consumptions"] == [
        {
            "product": "DATA",
            "daily_burn": "1.0000",
            "available_amount": "60.00",
            "estimated_consumption_days": 60,
            "estimated_consumption_date": "2026-04-01",
            "estimated_as_of": "2026-01-31",
        },
        {
            "product": "VOICE",
            "daily_burn": "0.5000",
            "available_amount": "30.00",
            "estimated_consumption_days": 60,
            "estimated_consumption_date": "2026-04-01",
            "estimated_as_of": "2026-01-31",
        },
    ]


def test_wallet_without_estimate_shows_nulls(world):
    w = b.wallet(world.tenant, balance="0.00")
    body = world.client(VIEWER).get(f"/api/wallets/{w.pk}").json()
    assert body["balance"] == "0.00"
    assert body["daily_burn"] is None
    assert body["estimated_consumption_days"] is None
    assert body["estimated_consumption_date"] is None
    assert body["consumptions"] == []


def test_wallet_of_another_tenant_is_not_found_everywhere(world):
    other = b.wallet(world.other_tenant, balance="10.00")
    client = world.client(OWNER)
    assert client.get(f"/api/wallets/{other.pk}").status_code == 404
    assert client.get(f"/api/wallets/{other.pk}/transactions").status_code == 404
    response = client.post(
        f"/api/wallets/{other.pk}/top-ups", {"amount": "5.00", "reference": "x"}, format="json"
    )
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.balance == Decimal("10.00")


def test_transactions_come_newest_first_in_cursor_pages(world):
    w = b.wallet(world.tenant, balance="10.00")
    actor = world.actor(OWNER)
    for i in range(1, 6):
        wallet_topup(actor=actor, wallet_id=w.pk, amount=Decimal(f"{i}.00"), reference=f"t{i}")
    client = world.client(VIEWER)

    seen, url, pages = [], f"/api/wallets/{w.pk}/transactions?page_size=2", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json()
        assert len(page["results"]) <= 2
        seen += [(r["cause"], r["amount"], r["balance_after"]) for r in page["results"]]
        url, pages = page["next"], pages + 1

    assert pages == 3
    assert seen == [
        ("TOP_UP", "5.00", "25.00"),
        ("TOP_UP", "4.00", "20.00"),
        ("TOP_UP", "3.00", "16.00"),
        ("TOP_UP", "2.00", "13.00"),
        ("TOP_UP", "1.00", "11.00"),
        ("OPENING_BALANCE", "10.00", "10.00"),
    ]


def test_transactions_refuse_a_forged_cursor(world):
    w = b.wallet(world.tenant, balance="10.00")
    response = world.client(VIEWER).get(f"/api/wallets/{w.pk}/transactions", {"cursor": "zz"})
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["details"]


def test_top_up_credits_the_wallet_and_answers_the_new_balance(world):
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-TOPUP"), balance="12.50")
    response = world.client(OWNER).post(
        f"/api/wallets/{w.pk}/top-ups",
        {"amount": "50.00", "reference": "bank transfer 881"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["balance"] == "62.50"
    tx = body["transaction"]
    assert (tx["kind"], tx["cause"], tx["amount"]) == ("CREDIT", "TOP_UP", "50.00")
    assert (tx["balance_after"], tx["reference"]) == ("62.50", "bank transfer 881")
    assert tx["created_by"] == world.users[OWNER].username
    w.refresh_from_db()
    assert w.balance == Decimal("62.50")
    assert AuditEntry.objects.filter(tenant=world.tenant, action="Wallet.topup").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0.00", "reference": "r"}, "amount"),
        ({"amount": "-5.00", "reference": "r"}, "amount"),
        ({"amount": "1.005", "reference": "r"}, "amount"),
        ({"amount": 5, "reference": "r"}, "amount"),
        ({"amount": "1000000.01", "reference": "r"}, "amount"),
        ({"amount": "ten", "reference": "r"}, "amount"),
        ({"reference": "r"}, "amount"),
        ({"amount": "5.00"}, "reference"),
        ({"amount": "5.00", "reference": "   "}, "reference"),
        ({"amount": "5.00", "reference": "x" * 121}, "reference"),
        ({"amount": "5.00", "reference": "r", "currency": "USD"}, "currency"),
    ],
)
def test_top_up_refuses_bad_input_naming_the_field(world, body, field):
    w = b.wallet(world.tenant, balance="10.00")
    response = world.client(OWNER).post(f"/api/wallets/{w.pk}/top-ups", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["details"] or error["message"].startswith(f"{field}:")
    assert WalletTransaction.objects.filter(wallet=w).count() == 1
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")


def test_top_up_accepts_exactly_one_million(world):
    w = b.wallet(world.tenant)
    response = world.client(OWNER).post(
        f"/api/wallets/{w.pk}/top-ups", {"amount": "1000000.00", "reference": "cap"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["balance"] == "1000000.00"


@pytest.mark.parametrize("role", [OPS, VIEWER])
def test_top_up_needs_the_topup_scope(world, role):
    w = b.wallet(world.tenant, balance="10.00")
    response = world.client(role).post(
        f"/api/wallets/{w.pk}/top-ups", {"amount": "5.00", "reference": "r"}, format="json"
    )
    assert response.status_code == 403
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")


def test_top_up_with_the_same_key_twice_credits_once(world):
    w = b.wallet(world.tenant, balance="10.00")
    client = world.client(OWNER)
    url, body = f"/api/wallets/{w.pk}/top-ups", {"amount": "20.00", "reference": "retry me"}

    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="topup-1")
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="topup-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    w.refresh_from_db()
    assert w.balance == Decimal("30.00")
    assert w.transactions.filter(cause="TOP_UP").count() == 1


def test_top_up_reusing_a_key_with_another_body_is_422(world):
    w = b.wallet(world.tenant, balance="10.00")
    client = world.client(OWNER)
    url = f"/api/wallets/{w.pk}/top-ups"
    client.post(url, {"amount": "20.00", "reference": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    response = client.post(
        url, {"amount": "99.00", "reference": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    w.refresh_from_db()
    assert w.balance == Decimal("30.00")


def test_wallet_reads_need_a_tenant_member(world):
    w = b.wallet(world.tenant, balance="10.00")
    assert world.client(None).get(f"/api/wallets/{w.pk}").status_code == 401
    assert world.client("outsider").get(f"/api/wallets/{w.pk}").status_code == 404


def test_available_leaves_out_charges_not_yet_billed(world):
    acc = b.account(world.tenant, "PP-PENDING")
    w = b.wallet(world.tenant, acc, balance="50.00")
    svc = b.service(world.tenant, acc)
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 2, 1))
    RatedItem.objects.create(
        tenant=world.tenant,
        run=run,
        account=acc,
        service=svc,
        kind=RatedItem.Kind.SERVICE,
        start=date(2026, 1, 1),
        end=date(2026, 2, 1),
        active_days=31,
        amount=Decimal("12.00"),
        sign=RatedItem.Sign.POSITIVE,
    )
    client = world.client(VIEWER)

    detail = client.get(f"/api/wallets/{w.pk}").json()
    listed = client.get("/api/wallets", {"account": "PP-PENDING"}).json()["results"]

    assert (detail["balance"], detail["available"]) == ("50.00", "38.00")
    assert [(r["balance"], r["available"]) for r in listed] == [("50.00", "38.00")]
