"""The wallet ledger: top-ups, posting, immutability, thresholds, selectors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from core import scopes as S
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import WalletTransaction
from wallets.selectors import (
    balance_history,
    low_balance_wallets,
    transaction_list,
    wallet_available,
    wallet_for_account,
    wallet_get,
    wallet_list,
)
from wallets.services.ledger import (
    wallet_lock,
    wallet_open,
    wallet_post,
    wallet_thresholds_update,
    wallet_topup,
)


def ledger_sum(wallet) -> Decimal:
    return sum((t.amount for t in wallet.transactions.all()), Decimal("0"))


def test_topup_credits_the_wallet_with_an_audit_entry(world):
    w = b.wallet(world.tenant, balance="10.00")
    tx = wallet_topup(actor=world.actor(), wallet_id=w.pk, amount=Decimal("50.25"), reference="R-1")
    w.refresh_from_db()
    assert w.balance == Decimal("60.25") == ledger_sum(w)
    assert (tx.kind, tx.amount, tx.cause, tx.reference) == (
        "CREDIT",
        Decimal("50.25"),
        "TOP_UP",
        "R-1",
    )
    assert tx.balance_after == Decimal("60.25")
    assert tx.created_by == world.users[S.Role.OWNER]
    entry = AuditEntry.objects.get(tenant=world.tenant, action="Wallet.topup")
    assert entry.object_id == str(w.pk)
    assert entry.reason == "R-1"
    assert entry.payload["amount"] == "50.25" and entry.payload["balance"] == "60.25"


@pytest.mark.parametrize(
    "amount",
    ["0", "0.00", "-5.00", "1.005", "1000000.01", "abc", None, True, "NaN", "Infinity", "1e999999"],
)
def test_topup_refuses_bad_amounts_naming_the_field(world, amount):
    w = b.wallet(world.tenant, balance="10.00")
    with pytest.raises(DomainError) as err:
        wallet_topup(actor=world.actor(), wallet_id=w.pk, amount=amount, reference="R")
    assert err.value.message.startswith("amount: expected")
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")
    assert w.transactions.count() == 1
    assert not AuditEntry.objects.filter(action="Wallet.topup").exists()


def test_topup_accepts_the_cap_exactly(world):
    w = b.wallet(world.tenant)
    wallet_topup(actor=world.actor(), wallet_id=w.pk, amount="1000000.00", reference="R")
    w.refresh_from_db()
    assert w.balance == Decimal("1000000.00")


@pytest.mark.parametrize("reference", ["", "   ", "x" * 121, None])
def test_topup_requires_a_reference(world, reference):
    w = b.wallet(world.tenant)
    with pytest.raises(DomainError, match="^reference: expected"):
        wallet_topup(actor=world.actor(), wallet_id=w.pk, amount="5.00", reference=reference)
    assert w.transactions.count() == 0


def test_topup_needs_the_topup_scope(world):
    w = b.wallet(world.tenant, balance="1.00")
    for role in (S.Role.VIEWER, S.Role.OPERATIONS):
        with pytest.raises(ScopeDenied):
            wallet_topup(actor=world.actor(role), wallet_id=w.pk, amount="5.00", reference="R")
    w.refresh_from_db()
    assert w.balance == Decimal("1.00")


def test_topup_of_another_tenants_wallet_is_not_found(world):
    other = b.wallet(world.other_tenant, balance="1.00")
    with pytest.raises(NotFound):
        wallet_topup(actor=world.actor(), wallet_id=other.pk, amount="5.00", reference="R")
    other.refresh_from_db()
    assert other.balance == Decimal("1.00")


def test_post_refuses_to_go_below_zero_and_writes_nothing(world):
    w = b.wallet(world.tenant, balance="10.00")
    with pytest.raises(DomainError) as err, transaction.atomic():
        locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
        wallet_post(wallet=locked, amount=Decimal("-10.01"), cause="PREPAID_BILLING")
    assert err.value.code == "insufficient_funds"
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")
    assert w.transactions.count() == 1


def test_post_debit_to_exactly_zero_and_kind_from_sign(world):
    w = b.wallet(world.tenant, balance="10.00")
    before = w.changed_at
    with transaction.atomic():
        locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
        debit = wallet_post(wallet=locked, amount=Decimal("-10.00"), cause="PREPAID_BILLING")
        credit = wallet_post(wallet=locked, amount=Decimal("2.50"), cause="USAGE")
    w.refresh_from_db()
    assert (debit.kind, debit.balance_after) == ("DEBIT", Decimal("0.00"))
    assert (credit.kind, credit.balance_after) == ("CREDIT", Decimal("2.50"))
    assert w.balance == Decimal("2.50") == ledger_sum(w)
    assert w.changed_at > before


def test_post_refuses_zero_and_sub_cent_amounts(world):
    w = b.wallet(world.tenant, balance="10.00")
    for amount in (Decimal("0"), Decimal("-0.001")):
        with pytest.raises(DomainError, match="^amount: expected"), transaction.atomic():
            locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
            wallet_post(wallet=locked, amount=amount, cause="MANUAL")
    assert w.transactions.count() == 1


def test_ledger_rows_cannot_be_changed_or_deleted(world):
    w = b.wallet(world.tenant, balance="10.00")
    row = w.transactions.get()
    row.amount = Decimal("99.00")
    with pytest.raises(ValueError, match="immutable"):
        row.save()
    with pytest.raises(ValueError, match="immutable"):
        row.delete()
    assert WalletTransaction.objects.get(pk=row.pk).amount == Decimal("10.00")


def test_wallet_open_writes_the_opening_credit(world):
    acc = b.account(world.tenant)
    w = wallet_open(
        actor=world.actor(),
        account=acc,
        currency="EUR",
        min_balance_threshold="5.00",
        opening_balance="120.00",
    )
    w.refresh_from_db()
    assert (w.currency, w.balance, w.min_balance_threshold) == (
        "EUR",
        Decimal("120.00"),
        Decimal("5.00"),
    )
    assert list(w.transactions.values_list("cause", "amount")) == [
        ("OPENING_BALANCE", Decimal("120.00"))
    ]
    with pytest.raises(Conflict):
        wallet_open(actor=world.actor(), account=acc, currency="EUR")
    with pytest.raises(DomainError, match="^currency: expected a 3-letter code"):
        wallet_open(actor=world.actor(), account=acc, currency="euro")


def test_thresholds_update_is_audited_with_its_reason(world):
    w = b.wallet(world.tenant, balance="10.00")
    with pytest.raises(DomainError, match="^reason"):
        wallet_thresholds_update(
            actor=world.actor(), wallet_id=w.pk, min_balance_threshold="3", reason=""
        )
    with pytest.raises(DomainError, match="^stop_service_threshold: expected"):
        wallet_thresholds_update(
            actor=world.actor(), wallet_id=w.pk, stop_service_threshold="-1", reason="x"
        )
    wallet_thresholds_update(
        actor=world.actor(),
        wallet_id=w.pk,
        min_balance_threshold="3.00",
        restrict_below_stop=True,
        reason="customer asked",
    )
    w.refresh_from_db()
    assert (w.min_balance_threshold, w.restrict_below_stop) == (Decimal("3.00"), True)
    entry = AuditEntry.objects.get(action="Wallet.thresholds_update")
    assert entry.reason == "customer asked"
    assert entry.payload["min_balance_threshold"] == {"from": "0.00", "to": "3.00"}


def test_selectors_filter_by_tenant_and_low_balance(world):
    mine = b.wallet(world.tenant, balance="100.00")
    low = b.wallet(world.tenant, balance="4.00", min_balance="5.00")
    stop = b.wallet(world.tenant, balance="1.00", stop_service="2.00")
    soon = b.wallet(world.tenant, balance="50.00")
    soon.estimated_consumption_date = timezone.localdate() + timedelta(days=3)
    soon.save()
    theirs = b.wallet(world.other_tenant, balance="0.00", min_balance="5.00")
    actor = world.actor(S.Role.VIEWER)
    assert set(wallet_list(actor=actor)) == {mine, low, stop, soon}
    assert set(wallet_list(actor=actor, low=True)) == {low, stop, soon}
    assert low_balance_wallets(actor=actor) == [stop, low, soon]
    assert low_balance_wallets(actor=actor, limit=1) == [stop]
    assert list(wallet_list(actor=actor, account=mine.account.number)) == [mine]
    with pytest.raises(NotFound):
        wallet_get(actor=actor, pk=theirs.pk)
    with pytest.raises(NotFound):
        transaction_list(actor=actor, wallet_id=theirs.pk)
    assert wallet_for_account(actor=actor, account_number=low.account.number) == low


def test_wallet_for_account_with_two_currencies_needs_the_currency(world):
    acc = b.account(world.tenant)
    usd = b.wallet(world.tenant, acc, balance="1.00")
    eur = b.wallet(world.tenant, acc, balance="2.00", currency="EUR")
    actor = world.actor()
    with pytest.raises(DomainError, match="^currency:"):
        wallet_for_account(actor=actor, account_number=acc.number)
    assert wallet_for_account(actor=actor, account_number=acc.number, currency="EUR") == eur
    assert wallet_for_account(actor=actor, account_number=acc.number, currency="USD") == usd


def test_transactions_newest_first_and_balance_history_oldest_first(world):
    w = b.wallet(world.tenant, balance="10.00")
    wallet_topup(actor=world.actor(), wallet_id=w.pk, amount="5.00", reference="a")
    wallet_topup(actor=world.actor(), wallet_id=w.pk, amount="1.00", reference="b")
    rows = list(transaction_list(actor=world.actor(), wallet_id=w.pk))
    assert [r.amount for r in rows] == [Decimal("1.00"), Decimal("5.00"), Decimal("10.00")]
    assert [bal for _, bal in balance_history(wallet=w)] == [
        Decimal("10.00"),
        Decimal("15.00"),
        Decimal("16.00"),
    ]


def test_available_subtracts_not_billed_charge_items(world):
    from datetime import date

    from wallets.models import PrepaidBillingRun, RatedItem

    w = b.wallet(world.tenant, balance="40.00")
    svc = b.service(world.tenant, w.account)
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 2, 1))
    common = {"tenant": world.tenant, "run": run, "account": w.account, "service": svc}
    RatedItem.objects.create(
        kind="SERVICE",
        start=date(2026, 1, 1),
        end=date(2026, 1, 31),
        amount=Decimal("12.50"),
        sign="POSITIVE",
        **common,
    )
    RatedItem.objects.create(
        kind="USAGE",
        start=date(2026, 1, 3),
        end=date(2026, 1, 4),
        amount=Decimal("-3.00"),
        sign="NEGATIVE",
        **common,
    )
    assert wallet_available(w) == Decimal("27.50")
