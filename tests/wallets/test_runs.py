"""Prepaid runs end to end (SPEC 7, issue 15 points 3 and 5): worked examples through a run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.exceptions import DomainError
from tests.wallets import builders as b
from wallets.models import (
    PrepaidBillingRun,
    PrepaidRunError,
    RatedItem,
    SubscriptionService,
    UsageRecord,
    Wallet,
    WalletTransaction,
)
from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger

JAN1 = date(2026, 1, 1)
AS_OF = date(2026, 1, 11)
D = Decimal


def run_now(actor, as_of=AS_OF, **filters) -> PrepaidBillingRun:
    run = prepaid_run_trigger(actor=actor, as_of=as_of, enqueue=False, **filters)
    return prepaid_run_execute(run_id=run.pk)


def balance(w: Wallet) -> Decimal:
    w.refresh_from_db()
    return w.balance


def ledger(w: Wallet) -> list[tuple[str, Decimal, str]]:
    return [
        (t.kind, t.amount, t.cause)
        for t in WalletTransaction.objects.filter(wallet=w, run__isnull=False).order_by("id")
    ]


def fresh(svc: SubscriptionService) -> SubscriptionService:
    return SubscriptionService.objects.get(pk=svc.pk)


def test_run_rates_post_pre_and_usage_and_debits_the_wallet(world):
    # given a wallet of 100.00 paying a post-rated and a pre-rated service and four usage records
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    post = b.service(t, acc, price="30.00", period_days=30, rating="POST")
    pre = b.service(t, acc, price="31.00", period_days=31, rating="PRE")
    b.usage(t, post, "5.00", on=date(2026, 1, 5))
    b.usage(t, post, "2.00", directive="TO_BE_CREDITED", on=date(2026, 1, 6))
    later = b.usage(t, post, "7.00", on=date(2026, 1, 20))
    cancelled = b.usage(t, post, "9.00", directive="CANCELLED", on=date(2026, 1, 3))

    # when a run as of 2026-01-11 executes
    run = run_now(world.actor())

    # then POST is billed [01-01, 01-11) = 10 days x 1.00, PRE [01-11, 02-11) = 31.00,
    # the usage as it is (credit negative); the later and the cancelled usage wait
    assert run.status == PrepaidBillingRun.Status.COMPLETED
    assert balance(w) == D("56.00")  # 100 - 10 - 31 - 5 + 2
    assert ledger(w) == [
        ("CREDIT", D("2.00"), "USAGE"),
        ("DEBIT", D("-10.00"), "PREPAID_BILLING"),
        ("DEBIT", D("-5.00"), "USAGE"),
        ("DEBIT", D("-31.00"), "PREPAID_BILLING"),
    ]
    items = {
        (i.service_id, i.kind, i.start, i.end): (i.amount, i.debited, i.state)
        for i in RatedItem.objects.filter(run=run)
    }
    assert items[(post.pk, "SERVICE", JAN1, AS_OF)] == (D("10.00"), D("10.00"), "BILLED")
    assert items[(pre.pk, "SERVICE", AS_OF, date(2026, 2, 11))] == (
        D("31.00"),
        D("31.00"),
        "BILLED",
    )
    assert len(items) == 4
    assert fresh(post).rated_up_to == AS_OF
    assert fresh(pre).rated_up_to == date(2026, 2, 11)
    assert fresh(post).prepayment_state == "VALID"
    assert fresh(post).prepayment_checked_at is not None
    assert UsageRecord.objects.get(pk=later.pk).state == "POSTED"
    assert UsageRecord.objects.get(pk=cancelled.pk).state == "POSTED"
    assert UsageRecord.objects.filter(service=post, state="RATED").count() == 2
    assert (run.rated_count, run.debited_total, run.credited_total) == (4, D("46.00"), D("2.00"))
    assert (run.accounts_total, run.accounts_done, run.invalid_count, run.errors_count) == (
        1,
        1,
        0,
        0,
    )
    # the balance is the ledger sum
    assert sum(t.amount for t in WalletTransaction.objects.filter(wallet=w)) == D("56.00")


def test_run_again_as_of_the_same_day_rates_nothing_twice(world):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    b.service(t, acc, rating="POST")
    b.service(t, acc, rating="PRE", price="31.00", period_days=31)
    first = run_now(world.actor())
    second = run_now(world.actor())
    assert balance(w) == D("59.00")
    assert (first.rated_count, second.rated_count) == (2, 0)
    assert second.debited_total == D("0.00")
    assert WalletTransaction.objects.filter(wallet=w, cause="PREPAID_BILLING").count() == 2


def test_min_balance_makes_the_service_invalid_until_a_top_up(world):
    # given 20.00 in a wallet that must keep 15.00, and a 10.00 post-rated charge due
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="20.00", min_balance="15.00")
    svc = b.service(t, acc, rating="POST")

    # when a run executes: 20 - 10 = 10 < 15
    run = run_now(world.actor())

    # then the service is INVALID, not rated, nothing debited
    assert fresh(svc).prepayment_state == "INVALID"
    assert fresh(svc).rated_up_to is None
    assert balance(w) == D("20.00")
    assert (run.invalid_count, run.rated_count) == (1, 0)
    assert not RatedItem.objects.filter(service=svc).exists()

    # when 5.00 is topped up (25 - 10 = 15, exactly the minimum) and the next run executes
    _top_up(world, w, "5.00")
    again = run_now(world.actor())

    # then it is rated, VALID, debited
    assert fresh(svc).prepayment_state == "VALID"
    assert fresh(svc).rated_up_to == AS_OF
    assert balance(w) == D("15.00")
    assert (again.invalid_count, again.rated_count, again.debited_total) == (0, 1, D("10.00"))


def _top_up(world, w: Wallet, amount: str) -> None:
    try:
        from wallets.services.ledger import wallet_topup
    except ImportError:  # the ledger helper's service is not merged yet: same effect, by hand
        w.refresh_from_db()
        new = w.balance + D(amount)
        WalletTransaction.objects.create(
            tenant=w.tenant,
            wallet=w,
            kind="CREDIT",
            amount=D(amount),
            balance_after=new,
            cause="TOP_UP",
            reference="test",
        )
        Wallet.objects.filter(pk=w.pk).update(balance=new)
        return
    wallet_topup(actor=world.actor(), wallet_id=w.pk, amount=D(amount), reference="test top-up")


def test_stop_service_caps_the_debit_at_what_remains(world):
    # given 25.00, stop-service at 20.00 with restrict_below_stop, a 10.00 charge
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="25.00", stop_service="20.00", restrict_below_stop=True)
    svc = b.service(t, acc, rating="POST")

    run = run_now(world.actor())

    # then the item is rated at 10.00 but the wallet gives 5.00 and keeps its 20.00
    item = RatedItem.objects.get(service=svc)
    assert (item.amount, item.debited, item.state) == (D("10.00"), D("5.00"), "BILLED")
    assert balance(w) == D("20.00")
    assert ledger(w) == [("DEBIT", D("-5.00"), "PREPAID_BILLING")]
    assert run.debited_total == D("5.00")
    assert fresh(svc).rated_up_to == AS_OF


def test_stop_cap_at_zero_writes_no_ledger_row(world):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="20.00", stop_service="20.00", restrict_below_stop=True)
    svc = b.service(t, acc, rating="POST")
    run_now(world.actor())
    assert RatedItem.objects.get(service=svc).debited == D("0.00")
    assert ledger(w) == []
    assert balance(w) == D("20.00")


def test_service_without_a_paying_wallet_is_an_error_and_the_rest_goes_on(world):
    # given an account with a EUR and a GBP wallet (none in USD) and a healthy account
    t = world.tenant
    odd = b.account(t, "PP-ODD")
    b.wallet(t, odd, balance="50.00", currency="EUR")
    b.wallet(t, odd, balance="50.00", currency="GBP")
    stuck = b.service(t, odd, rating="POST")
    good = b.account(t, "PP-GOOD")
    w = b.wallet(t, good, balance="50.00")
    b.service(t, good, rating="POST")

    run = run_now(world.actor())

    assert run.status == PrepaidBillingRun.Status.COMPLETED_WITH_ERRORS
    errors = list(PrepaidRunError.objects.filter(run=run))
    assert [(e.service_id, e.code) for e in errors] == [(stuck.pk, "no_wallet")]
    assert stuck.external_id in errors[0].message
    assert run.errors_count == 1
    assert balance(w) == D("40.00")
    assert fresh(stuck).rated_up_to is None


def test_filters_pick_accounts_by_number_classification_and_subscription(world):
    t = world.tenant
    a = b.account(t, "PP-A", classification="RETAIL")
    wa = b.wallet(t, a, balance="50.00")
    sa = b.service(t, a)
    c = b.account(t, "PP-C", classification="CORPORATE")
    wc = b.wallet(t, c, balance="50.00")
    b.service(t, c)
    b.account(t, "PP-NOWALLET")

    by_number = run_now(world.actor(), accounts=["PP-A"])
    assert (by_number.accounts_total, balance(wa), balance(wc)) == (1, D("40.00"), D("50.00"))

    by_class = run_now(world.actor(), as_of=date(2026, 1, 12), classifications=["CORPORATE"])
    assert (by_class.accounts_total, balance(wa), balance(wc)) == (1, D("40.00"), D("39.00"))

    by_sub = run_now(
        world.actor(), as_of=date(2026, 1, 13), subscriptions=[sa.subscription.external_id]
    )
    assert (by_sub.accounts_total, balance(wa), balance(wc)) == (1, D("38.00"), D("39.00"))

    everyone = run_now(world.actor(), as_of=date(2026, 1, 13))
    assert everyone.accounts_total == 2  # the account without a wallet is not in scope


def test_trigger_names_unknown_accounts_and_subscriptions(world):
    t = world.tenant
    b.wallet(t, b.account(t, "PP-KNOWN"))
    b.account(t, "PP-BARE")
    with pytest.raises(DomainError, match="PP-NOPE"):
        prepaid_run_trigger(
            actor=world.actor(), as_of=AS_OF, accounts=["PP-KNOWN", "PP-NOPE"], enqueue=False
        )
    with pytest.raises(DomainError, match="PP-BARE have no wallet"):
        prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, accounts=["PP-BARE"], enqueue=False)
    with pytest.raises(DomainError, match="SUB-GHOST"):
        prepaid_run_trigger(
            actor=world.actor(), as_of=AS_OF, subscriptions=["SUB-GHOST"], enqueue=False
        )
    with pytest.raises(DomainError, match="estimation"):
        prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, estimation="SOME", enqueue=False)
    assert not PrepaidBillingRun.objects.exists()


def test_trigger_needs_the_run_scope_and_other_tenants_accounts_are_unknown(world):
    from core import scopes as S
    from core.exceptions import ScopeDenied

    viewer = next(
        (role for role in world.users if not world.actor(role).has(S.WALLETS_RUN_TRIGGER)), None
    )
    assert viewer is not None
    with pytest.raises(ScopeDenied):
        prepaid_run_trigger(actor=world.actor(viewer), as_of=AS_OF, enqueue=False)
    b.wallet(world.other_tenant, b.account(world.other_tenant, "PP-THEIRS"))
    with pytest.raises(DomainError, match="PP-THEIRS"):
        prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, accounts=["PP-THEIRS"], enqueue=False)


def test_run_covers_only_its_tenant(world):
    t, o = world.tenant, world.other_tenant
    mine = b.wallet(t, b.account(t), balance="50.00")
    b.service(t, mine.account)
    theirs = b.wallet(o, b.account(o), balance="50.00")
    b.service(o, theirs.account)
    run = run_now(world.actor())
    assert run.accounts_total == 1
    assert (balance(mine), balance(theirs)) == (D("40.00"), D("50.00"))


def test_chunks_split_accounts_and_progress_counts_them(world, settings):
    settings.PREPAID_CHUNK_ACCOUNTS = 2
    t = world.tenant
    wallets = []
    for _ in range(5):
        w = b.wallet(t, b.account(t), balance="50.00")
        b.service(t, w.account)
        wallets.append(w)
    run = run_now(world.actor())
    assert (run.chunks_total, run.chunks_done) == (3, 3)
    assert (run.accounts_total, run.accounts_done, run.percent) == (5, 5, 100)
    assert [balance(w) for w in wallets] == [D("40.00")] * 5
    assert run.debited_total == D("50.00")


def test_audit_entry_per_account_summarises_it(world):
    from core.models import AuditEntry

    t = world.tenant
    w = b.wallet(t, b.account(t), balance="50.00")
    b.service(t, w.account)
    run = run_now(world.actor())
    entry = AuditEntry.objects.get(tenant=t, action="PrepaidRun.account")
    assert entry.object_id == str(w.account_id)
    assert entry.payload["run"] == run.pk
    assert entry.payload["debited"] in ("10.00", 10.0, "10")
    assert entry.payload["services_rated"] == 1
    assert AuditEntry.objects.filter(tenant=t, action="PrepaidRun.complete").count() == 1


def test_service_with_bad_data_is_an_error_and_its_neighbours_are_rated(world):
    # given an account with a service whose rating mode is garbage (written around the services)
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="50.00")
    bad = b.service(t, acc, rating="POST")
    SubscriptionService.objects.filter(pk=bad.pk).update(rating="XX")
    good = b.service(t, acc, rating="POST")

    run = run_now(world.actor())

    assert run.status == PrepaidBillingRun.Status.COMPLETED_WITH_ERRORS
    error = PrepaidRunError.objects.get(run=run)
    assert (error.service_id, error.code) == (bad.pk, "rating_failed")
    assert "rating" in error.message and bad.external_id in error.message
    assert fresh(good).rated_up_to == AS_OF
    assert balance(w) == D("40.00")


@pytest.mark.parametrize("per_transaction", [1, 3, 50])
def test_accounts_batched_per_transaction_give_the_same_result(world, settings, per_transaction):
    # given healthy, under-minimum, stop-capped and wallet-less accounts in one chunk
    settings.PREPAID_ACCOUNTS_PER_TRANSACTION = per_transaction
    t = world.tenant
    healthy = b.wallet(t, b.account(t), balance="50.00")
    b.service(t, healthy.account)
    b.usage(t, b.service(t, healthy.account, price="0.00"), "2.50", on=date(2026, 1, 2))
    poor = b.wallet(t, b.account(t), balance="12.00", min_balance="5.00")
    poor_svc = b.service(t, poor.account)
    capped = b.wallet(
        t, b.account(t), balance="14.00", stop_service="10.00", restrict_below_stop=True
    )
    b.service(t, capped.account)
    odd = b.account(t)
    b.wallet(t, odd, currency="EUR")
    b.wallet(t, odd, currency="GBP")
    b.service(t, odd)
    healthy2 = b.wallet(t, b.account(t), balance="10.00")
    b.service(t, healthy2.account)

    run = run_now(world.actor())

    assert [balance(w) for w in (healthy, poor, capped, healthy2)] == [
        D("37.50"),
        D("12.00"),
        D("10.00"),
        D("0.00"),
    ]
    assert fresh(poor_svc).prepayment_state == "INVALID"
    assert run.status == PrepaidBillingRun.Status.COMPLETED_WITH_ERRORS
    assert (run.rated_count, run.invalid_count, run.errors_count) == (5, 1, 1)
    assert run.debited_total == D("26.50")  # 10 + 2.50 + 4 (capped) + 10 (to exactly 0.00)
    for w in (healthy, poor, capped, healthy2):
        assert sum(x.amount for x in WalletTransaction.objects.filter(wallet=w)) == balance(w)
