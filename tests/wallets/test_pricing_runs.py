"""Issue 18 through prepaid runs: price plans, discounts, VAT, penalties, bundles and wallet
definitions as a user sees them (items, ledger rows, balances, the run's summary)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from core.exceptions import DomainError
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import (
    PrepaidBillingRun,
    PrepaidRunChunk,
    RatedItem,
    SubscriptionService,
    Wallet,
    WalletDefinition,
    WalletProductConsumption,
    WalletTransaction,
)
from wallets.services import chunks
from wallets.services.estimates import wallets_estimate
from wallets.services.finalize import prepaid_run_finalize
from wallets.services.ledger import wallet_lock, wallet_post
from wallets.services.runs import prepaid_run_execute, prepaid_run_start, prepaid_run_trigger

D = Decimal
JAN1 = date(2026, 1, 1)
JAN6 = date(2026, 1, 6)
AS_OF = date(2026, 1, 11)
JAN21 = date(2026, 1, 21)
OLD = date(2020, 1, 1)


def run_now(actor, as_of=AS_OF) -> PrepaidBillingRun:
    run = prepaid_run_trigger(actor=actor, as_of=as_of, enqueue=False)
    return prepaid_run_execute(run_id=run.pk)


def balance(w: Wallet) -> Decimal:
    w.refresh_from_db()
    return w.balance


def ledger(w: Wallet, run=None) -> list[tuple[Decimal, str]]:
    qs = WalletTransaction.objects.filter(wallet=w, run__isnull=False)
    if run is not None:
        qs = qs.filter(run=run)
    return [(t.amount, t.cause) for t in qs.order_by("id")]


def ledger_sum(w: Wallet) -> Decimal:
    return sum(WalletTransaction.objects.filter(wallet=w).values_list("amount", flat=True), D(0))


def items(run, **filters) -> list[RatedItem]:
    return list(RatedItem.objects.filter(run=run, **filters).order_by("service_id", "start", "id"))


def breakdown(i: RatedItem) -> tuple:
    return (i.kind, i.start, i.end, i.net, i.discount, i.vat, i.gross, i.debited, i.state)


# --- price plans ---------------------------------------------------------------------------------


def test_rate_change_mid_period_writes_two_items_and_debits_their_gross(world):
    # given DATA's plan: 30.00 per 30 days, 60.00 from 01-06 (the service's own 99.00 is unused)
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    pb.price_plan(t, "DATA", ((OLD, "30.00", 30), (JAN6, "60.00", 30)))
    svc = b.service(t, acc, price="99.00", rating="POST")

    run = run_now(world.actor())

    # then [01-01, 01-06) 5 x 1.00 and [01-06, 01-11) 5 x 2.00: two items, 15.00 debited
    got = items(run)
    assert [breakdown(i) for i in got] == [
        ("SERVICE", JAN1, JAN6, D("5.00"), D("0"), D("0"), D("5.00"), D("5.00"), "BILLED"),
        ("SERVICE", JAN6, AS_OF, D("10.00"), D("0"), D("0"), D("10.00"), D("10.00"), "BILLED"),
    ]
    assert [i.rate_from for i in got] == [OLD, JAN6]
    assert got[1].reasons == ["starts 2026-01-06: price plan rate changes"]
    assert balance(w) == D("85.00")
    assert ledger(w) == [(D("-5.00"), "PREPAID_BILLING"), (D("-10.00"), "PREPAID_BILLING")]
    assert (run.rated_count, run.debited_total) == (2, D("15.00"))
    assert SubscriptionService.objects.get(pk=svc.pk).rated_up_to == AS_OF


# --- discounts and VAT ---------------------------------------------------------------------------


def test_discounts_and_vat_are_stored_per_item_and_the_ledger_row_is_the_gross(world):
    # given DATA at 30.00/30 days, VAT 20 %, an automatic 10 % and an ad hoc 3.00 per 30 days
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    data.tax_class = pb.tax_class(t, "STD", ((OLD, "20"),))
    data.save(update_fields=["tax_class"])
    pb.price_plan(t, data, ((OLD, "30.00", 30),))
    pb.discount(t, code="LOYAL", name="Loyalty", kind="PERCENT", value="10", product=data)
    svc = b.service(t, acc, rating="POST")
    pb.discount(t, code="GOODWILL", name="Goodwill", kind="FIXED", value="3.00", service=svc)

    run = run_now(world.actor())

    # then 10 days: net 10.00, 10 % = 1.00, then 3.00 x 10/30 = 1.00; VAT 20 % of 8.00 = 1.60
    (item,) = items(run)
    assert breakdown(item) == (
        "SERVICE",
        JAN1,
        AS_OF,
        D("10.00"),
        D("2.00"),
        D("1.60"),
        D("9.60"),
        D("9.60"),
        "BILLED",
    )
    assert item.amount == D("9.60") and item.vat_rate == D("20")
    assert item.discounts == [
        {"code": "LOYAL", "name": "Loyalty", "kind": "PERCENT", "value": "10.00", "amount": "1.00"},
        {
            "code": "GOODWILL",
            "name": "Goodwill",
            "kind": "FIXED",
            "value": "3.00",
            "amount": "1.00",
        },
    ]
    assert ledger(w) == [(D("-9.60"), "PREPAID_BILLING")]
    assert balance(w) == D("90.40") == ledger_sum(w)


def test_discount_ending_mid_period_splits_the_item_and_says_why(world):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    pb.discount(t, code="HALF", kind="PERCENT", value="50", product=data, effective_to=JAN6)
    b.service(t, acc, price="30.00", rating="POST")

    run = run_now(world.actor())

    # [01-01, 01-06) 5.00 - 50 % = 2.50; [01-06, 01-11) 5.00 at full price
    got = items(run)
    assert [(i.start, i.end, i.net, i.discount, i.gross) for i in got] == [
        (JAN1, JAN6, D("5.00"), D("2.50"), D("2.50")),
        (JAN6, AS_OF, D("5.00"), D("0.00"), D("5.00")),
    ]
    assert got[1].reasons == ["starts 2026-01-06: discount HALF ends"]
    assert balance(w) == D("92.50")


# --- early-cancellation penalty ------------------------------------------------------------------


def cancelled_service(t, acc, *, binding_end=date(2026, 7, 1), cancelled_on=JAN6):
    return b.service(
        t,
        acc,
        price="30.00",
        rating="POST",
        periods=[("ACTIVE", JAN1, cancelled_on), ("CANCELLED", cancelled_on, None)],
    ), binding_end


def test_fixed_penalty_is_charged_once_also_when_a_chunk_or_a_run_is_executed_again(world):
    # given a product with a fixed 50.00 penalty; the service is cancelled on 01-06, bound to 07-01
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    data.penalty_kind, data.penalty_amount = "FIXED", D("50.00")
    data.save(update_fields=["penalty_kind", "penalty_amount"])
    svc, end = cancelled_service(t, acc)
    SubscriptionService.objects.filter(pk=svc.pk).update(binding_end=end)

    # when a run executes its chunk, the chunk is executed again (done mark lost), then a 2nd run
    run = prepaid_run_trigger(actor=world.actor(), as_of=AS_OF, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)
    chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    PrepaidRunChunk.objects.filter(pk=chunk_id).update(done=False)
    PrepaidBillingRun.objects.filter(pk=run.pk).update(chunks_done=0, accounts_done=0)
    chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    run = prepaid_run_finalize(run_id=run.pk)
    second = run_now(world.actor(), as_of=JAN21)

    # then the 5 ACTIVE days (5.00) and one penalty [01-06, 07-01) of 50.00, nothing more
    assert [breakdown(i) for i in items(run)] == [
        ("SERVICE", JAN1, AS_OF, D("5.00"), D("0"), D("0"), D("5.00"), D("5.00"), "BILLED"),
        (
            "PENALTY_EARLY_CANCELLATION",
            JAN6,
            end,
            D("50.00"),
            D("0"),
            D("0"),
            D("50.00"),
            D("50.00"),
            "BILLED",
        ),
    ]
    assert items(second) == []
    assert RatedItem.objects.filter(service=svc, kind="PENALTY_EARLY_CANCELLATION").count() == 1
    assert ledger(w) == [(D("-5.00"), "PREPAID_BILLING"), (D("-50.00"), "PREPAID_BILLING")]
    assert balance(w) == D("45.00") == ledger_sum(w)
    assert (run.rated_count, run.debited_total) == (2, D("55.00"))


def test_remaining_fees_penalty_at_the_rate_in_force_with_vat(world):
    # remaining binding days 01-06 .. 02-05 = 30 at 30.00/30 days = 30.00, VAT 20 % = 6.00
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    data.penalty_kind = "REMAINING_FEES"
    data.tax_class = pb.tax_class(t, "STD", ((OLD, "20"),))
    data.save(update_fields=["penalty_kind", "tax_class"])
    pb.price_plan(t, data, ((OLD, "30.00", 30), (date(2026, 1, 7), "90.00", 30)))
    svc, end = cancelled_service(t, acc, binding_end=date(2026, 2, 5))
    SubscriptionService.objects.filter(pk=svc.pk).update(binding_end=end)

    run = run_now(world.actor())

    (penalty,) = items(run, kind="PENALTY_EARLY_CANCELLATION")
    assert (penalty.net, penalty.vat, penalty.gross) == (D("30.00"), D("6.00"), D("36.00"))
    # the service's 5 active days: 5.00 + 20 % = 6.00
    assert balance(w) == D("58.00") == ledger_sum(w)


def test_cancellation_on_the_binding_end_itself_is_not_penalised(world):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    data.penalty_kind, data.penalty_amount = "FIXED", D("50.00")
    data.save(update_fields=["penalty_kind", "penalty_amount"])
    svc, _ = cancelled_service(t, acc)
    SubscriptionService.objects.filter(pk=svc.pk).update(binding_end=JAN6)

    run = run_now(world.actor())

    assert [i.kind for i in items(run)] == ["SERVICE"]
    assert balance(w) == D("95.00")


# --- bundles -------------------------------------------------------------------------------------


def test_components_bundle_rates_each_component_at_its_bundle_plan_else_standalone(world):
    # given FAMILY = DATA + VOICE rated per component; DATA has a plan for FAMILY (15.00), VOICE
    # only its standalone plan (60.00); DATA's standalone 30.00 is not used here
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    family = pb.bundle(t, "FAMILY", "COMPONENTS", ["DATA", "VOICE"])
    data, voice = b.product(t, "DATA"), b.product(t, "VOICE")
    pb.price_plan(t, data, ((OLD, "30.00", 30),))
    pb.price_plan(t, data, ((OLD, "15.00", 30),), bundle=family)
    pb.price_plan(t, voice, ((OLD, "60.00", 30),))
    b.service(t, acc, price="999.00", rating="POST", product_code="FAMILY")

    run = run_now(world.actor())

    got = {i.component_id: (i.net, i.gross, i.debited) for i in items(run)}
    assert got == {
        data.pk: (D("5.00"), D("5.00"), D("5.00")),
        voice.pk: (D("20.00"), D("20.00"), D("20.00")),
    }
    assert balance(w) == D("75.00") == ledger_sum(w)


def test_both_bundle_rates_the_bundle_and_its_components(world):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="100.00")
    family = pb.bundle(t, "FAMILY", "BOTH", ["DATA"])
    pb.price_plan(t, family, ((OLD, "9.00", 30),))
    pb.price_plan(t, "DATA", ((OLD, "30.00", 30),))
    b.service(t, acc, price="999.00", rating="POST", product_code="FAMILY")

    run = run_now(world.actor())

    # the bundle line 9.00 x 10/30 = 3.00 and the component 10.00
    assert sorted(((i.component.code if i.component else ""), i.gross) for i in items(run)) == [
        ("", D("3.00")),
        ("DATA", D("10.00")),
    ]
    assert balance(w) == D("87.00")


# --- wallet definitions --------------------------------------------------------------------------


def test_definition_without_prepaid_billing_rates_and_holds_then_a_later_run_bills_once(world):
    # given a definition that lets only usage debit, a wallet of 25.00 with a service of
    # 30.00/30 days and usage of 5.00, and a second service without usage
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="25.00")
    wd = pb.wallet_definition(t, ("USAGE",), code="USAGE-ONLY")
    used = b.service(t, acc, price="30.00", rating="POST")
    b.usage(t, used, "5.00", on=JAN6)
    quiet = b.service(t, acc, price="30.00", rating="POST")
    SubscriptionService.objects.filter(pk=quiet.pk).update(prepayment_state="INVALID")

    first = run_now(world.actor())

    # then the service periods are rated and left NOT_BILLED (debited 0, no ledger row), the
    # usage is debited, and the run says why
    assert first.status == "COMPLETED"
    assert (first.wallet_definition_id, first.debit_causes) == (wd.pk, ["USAGE"])
    held = items(first, kind="SERVICE")
    assert [(i.service_id, i.gross, i.debited, i.state) for i in held] == [
        (used.pk, D("10.00"), D("0.00"), "NOT_BILLED"),
        (quiet.pk, D("10.00"), D("0.00"), "NOT_BILLED"),
    ]
    assert ledger(w) == [(D("-5.00"), "USAGE")]
    assert balance(w) == D("20.00") == ledger_sum(w)
    assert first.summary["not_debited"] == (
        "Prepaid billing is not a debit cause of the active wallet definition USAGE-ONLY: "
        "items were rated and left not billed."
    )
    assert (first.summary["not_billed_items"], first.summary["not_billed_amount"]) == (
        2,
        "20.00",
    )
    assert (first.rated_count, first.debited_total) == (3, D("5.00"))
    # both services rated on; the one with nothing billable keeps its prepayment state
    assert SubscriptionService.objects.get(pk=quiet.pk).rated_up_to == AS_OF
    assert SubscriptionService.objects.get(pk=quiet.pk).prepayment_state == "INVALID"

    # when prepaid billing may debit again and a run as of 01-21 executes, after a top-up
    WalletDefinition.objects.filter(pk=wd.pk).update(active=False)
    pb.wallet_definition(t, ("PREPAID_BILLING", "USAGE"), code="ALL")
    credit = WalletTransaction.objects.create(
        tenant=t,
        wallet=w,
        kind="CREDIT",
        amount=D("20.00"),
        balance_after=D("40.00"),
        cause="TOP_UP",
    )
    Wallet.objects.filter(pk=w.pk).update(balance=credit.balance_after)
    second = run_now(world.actor(), as_of=JAN21)

    # then the 40.00 pays exactly the two carried items and the two new periods (the carried
    # ones no longer hold back the available amount), each once
    assert second.summary.get("not_debited") is None
    assert second.summary["not_billed_items"] == 0
    assert balance(w) == D("0.00") == ledger_sum(w)
    for item in (RatedItem.objects.get(pk=i.pk) for i in held):
        assert (item.state, item.debited, item.run_id) == ("BILLED", D("10.00"), first.pk)
        assert WalletTransaction.objects.get(item=item).run_id == second.pk
    assert [(i.start, i.state) for i in items(second)] == [
        (AS_OF, "BILLED"),
        (AS_OF, "BILLED"),
    ]
    assert (second.rated_count, second.debited_total) == (2, D("40.00"))
    assert SubscriptionService.objects.get(pk=quiet.pk).prepayment_state == "VALID"

    # and a third run bills nothing again
    third = run_now(world.actor(), as_of=JAN21)
    assert items(third) == [] and third.debited_total == D("0.00")
    assert RatedItem.objects.filter(state="NOT_BILLED").count() == 0
    assert balance(w) == D("0.00") == ledger_sum(w)


def test_no_active_definition_leaves_the_run_without_one(world):
    t = world.tenant
    acc = b.account(t)
    b.wallet(t, acc, balance="100.00")
    pb.wallet_definition(t, ("USAGE",), active=False)
    b.service(t, acc, rating="POST")

    run = run_now(world.actor())

    assert (run.wallet_definition_id, run.debit_causes, run.debits_prepaid_billing) == (
        None,
        None,
        True,
    )
    assert "not_debited" not in run.summary
    assert [i.state for i in items(run)] == ["BILLED"]


def manual_debit(world, w: Wallet, amount="-5.00"):
    with transaction.atomic():
        locked = wallet_lock(tenant_id=world.tenant.pk, wallet_id=w.pk)
        return wallet_post(wallet=locked, amount=D(amount), cause="MANUAL", reference="fix")


def test_manual_debit_is_refused_when_the_active_definition_does_not_list_manual(world):
    t = world.tenant
    w = b.wallet(t, balance="100.00")
    wd = pb.wallet_definition(t, ("PREPAID_BILLING", "USAGE"), code="NO-MANUAL")

    with pytest.raises(DomainError) as caught:
        manual_debit(world, w)

    assert caught.value.code == "cause_not_allowed"
    assert "MANUAL" in caught.value.message and "NO-MANUAL" in caught.value.message
    assert balance(w) == D("100.00") == ledger_sum(w)
    # a manual credit is not a debit; with MANUAL listed (or no definition) a debit goes through
    manual_debit(world, w, "5.00")
    WalletDefinition.objects.filter(pk=wd.pk).update(debit_causes=["MANUAL"])
    manual_debit(world, w)
    WalletDefinition.objects.filter(pk=wd.pk).update(active=False)
    manual_debit(world, w)
    assert balance(w) == D("95.00") == ledger_sum(w)


# --- estimates -----------------------------------------------------------------------------------


def test_estimates_burn_the_gross_after_discounts_with_vat(world):
    # DATA 30.00/30 days - 10 % + 20 % VAT = 32.40 per 30 days = 1.08 a day; 108.00 lasts 100 days
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="108.00")
    data = b.product(t, "DATA")
    data.tax_class = pb.tax_class(t, "STD", ((OLD, "20"),))
    data.save(update_fields=["tax_class"])
    pb.price_plan(t, data, ((OLD, "30.00", 30),))
    pb.discount(t, kind="PERCENT", value="10", product=data)
    b.service(t, acc, price="999.00", rating="POST")

    assert wallets_estimate(tenant_id=t.pk, as_of=date(2026, 3, 1), mode="ALL") == 1

    w.refresh_from_db()
    assert (w.daily_burn, w.estimated_consumption_days) == (D("1.0800"), 100)
    assert w.estimated_consumption_date == date(2026, 6, 9)


def test_estimates_burn_bundle_components_as_their_products(world):
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="90.00")
    pb.bundle(t, "FAMILY", "COMPONENTS", ["DATA", "VOICE"])
    pb.price_plan(t, "DATA", ((OLD, "30.00", 30),))
    pb.price_plan(t, "VOICE", ((OLD, "60.00", 30),))
    b.service(t, acc, price="999.00", rating="POST", product_code="FAMILY")

    wallets_estimate(tenant_id=t.pk, as_of=date(2026, 3, 1), mode="ALL")

    w.refresh_from_db()
    assert (w.daily_burn, w.estimated_consumption_days) == (D("3.0000"), 30)
    per_product = {
        c.product.code: c.daily_burn for c in WalletProductConsumption.objects.filter(wallet=w)
    }
    assert per_product == {"DATA": D("1.0000"), "VOICE": D("2.0000")}


# --- trigger_prepaid_run --verbose ---------------------------------------------------------------


def trigger(*args) -> dict:
    out = StringIO()
    call_command("trigger_prepaid_run", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    return json.loads(lines[0])


def test_trigger_verbose_lists_the_items_with_their_breakdown(world):
    t = world.tenant
    acc = b.account(t)
    b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    data.tax_class = pb.tax_class(t, "STD", ((OLD, "20"),))
    data.save(update_fields=["tax_class"])
    pb.price_plan(t, data, ((OLD, "30.00", 30), (JAN6, "60.00", 30)))
    svc = b.service(t, acc, rating="POST")
    b.usage(t, svc, "5.00", on=JAN6)

    plain = trigger("--tenant", t.slug, "--as-of", "2026-01-11", "--sync")
    assert set(plain) == {"run", "status", "rated", "debited", "invalid", "errors"}

    svc2 = b.service(t, acc, rating="POST")
    b.usage(t, svc, "5.00", on=date(2026, 1, 15))
    out = trigger("--tenant", t.slug, "--as-of", "2026-01-21", "--sync", "--verbose")

    assert out["status"] == "COMPLETED" and out["rated"] == 4
    assert out["items"] == [
        {
            "service": svc.external_id,
            "start": "2026-01-11",
            "end": "2026-01-21",
            "net": "20.00",
            "discount": "0.00",
            "vat": "4.00",
            "gross": "24.00",
            "kind": "SERVICE",
        },
        {
            "service": svc.external_id,
            "start": "2026-01-15",
            "end": "2026-01-16",
            "net": "5.00",
            "discount": "0.00",
            "vat": "0.00",
            "gross": "5.00",
            "kind": "USAGE",
        },
        {
            "service": svc2.external_id,
            "start": "2026-01-01",
            "end": "2026-01-06",
            "net": "5.00",
            "discount": "0.00",
            "vat": "1.00",
            "gross": "6.00",
            "kind": "SERVICE",
        },
        {
            "service": svc2.external_id,
            "start": "2026-01-06",
            "end": "2026-01-21",
            "net": "30.00",
            "discount": "0.00",
            "vat": "6.00",
            "gross": "36.00",
            "kind": "SERVICE",
        },
    ]


def test_carried_items_stay_not_billed_when_the_wallet_cannot_pay_and_a_rerun_bills_once(world):
    # given a held 10.00 item from a run under a USAGE-only definition, on a wallet of 15.00
    t = world.tenant
    acc = b.account(t)
    w = b.wallet(t, acc, balance="15.00")
    wd = pb.wallet_definition(t, ("USAGE",))
    svc = b.service(t, acc, price="30.00", rating="POST")
    first = run_now(world.actor())
    (held,) = items(first)
    WalletDefinition.objects.filter(pk=wd.pk).update(active=False)

    # when a run as of 01-21 needs 10.00 carried + 10.00 new = 20.00 > 15.00
    second = run_now(world.actor(), as_of=JAN21)

    # then the service is INVALID, nothing is billed, the carried item waits
    assert second.invalid_count == 1 and items(second) == []
    assert RatedItem.objects.get(pk=held.pk).state == "NOT_BILLED"
    assert balance(w) == D("15.00") == ledger_sum(w)

    # when the wallet is topped up and a run's chunk is executed twice (done mark lost)
    credit = WalletTransaction.objects.create(
        tenant=t,
        wallet=w,
        kind="CREDIT",
        amount=D("5.00"),
        balance_after=D("20.00"),
        cause="TOP_UP",
    )
    Wallet.objects.filter(pk=w.pk).update(balance=credit.balance_after)
    run = prepaid_run_trigger(actor=world.actor(), as_of=JAN21, enqueue=False)
    (chunk_id,) = prepaid_run_start(run_id=run.pk)
    chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    PrepaidRunChunk.objects.filter(pk=chunk_id).update(done=False)
    PrepaidBillingRun.objects.filter(pk=run.pk).update(chunks_done=0, accounts_done=0)
    chunks.prepaid_run_process_chunk(chunk_id=chunk_id)
    run = prepaid_run_finalize(run_id=run.pk)

    # then the carried item and the new period are billed once each
    assert RatedItem.objects.get(pk=held.pk).state == "BILLED"
    assert ledger(w, run) == [(D("-10.00"), "PREPAID_BILLING"), (D("-10.00"), "PREPAID_BILLING")]
    assert balance(w) == D("0.00") == ledger_sum(w)
    assert (run.rated_count, run.debited_total) == (1, D("20.00"))
    assert SubscriptionService.objects.get(pk=svc.pk).prepayment_state == "VALID"
