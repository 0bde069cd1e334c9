"""Wallets' events (issue 19): a wallet fell below its minimum (watchers notified), a prepaid
run completed; and watching a wallet through the service, the API and the screen."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from core import scopes as S
from core.exceptions import NotFound
from core.models import Event
from tests.core.event_helpers import events_of, phi_found, recipients, the_event, title_and_link
from tests.wallets import builders as b
from wallets.events import low_balance_emit
from wallets.models import PrepaidBillingRun, WalletWatch
from wallets.services.ledger import wallet_lock, wallet_post
from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger
from wallets.services.watch import wallet_watch_set

LOW = "wallets.wallet.low_balance"
D = Decimal


def debit(w, amount: str) -> None:
    with transaction.atomic():
        locked = wallet_lock(tenant_id=w.tenant_id, wallet_id=w.pk)
        wallet_post(wallet=locked, amount=-D(amount), cause="MANUAL", reference="adjustment")


def test_low_balance_fires_once_when_the_balance_crosses_the_minimum(world):
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-1"), balance="120.00", min_balance="100")

    debit(w, "10.00")  # 110: still above
    assert events_of(world.tenant, LOW) == []
    debit(w, "10.00")  # 100: at the minimum is not below
    assert events_of(world.tenant, LOW) == []
    debit(w, "0.01")  # 99.99: crossed

    event = the_event(world.tenant, LOW)
    assert (event.object_type, event.object_id) == ("wallets.Wallet", str(w.pk))
    assert event.payload == {
        "wallet": w.pk,
        "account": w.account_id,
        "currency": "USD",
        "balance_before": "100.00",
        "balance": "99.99",
        "min_balance_threshold": "100.00",
    }
    assert phi_found(event.payload, ["Prepaid PP-1"]) == []

    debit(w, "50.00")  # further below: no second event
    assert len(events_of(world.tenant, LOW)) == 1


def test_no_low_balance_without_a_threshold(world):
    w = b.wallet(world.tenant, balance="10.00")
    debit(w, "10.00")
    assert events_of(world.tenant, LOW) == []


def test_low_balance_notifies_the_watchers_only(world):
    w = b.wallet(world.tenant, balance="50.00", min_balance="40.00")
    ops, viewer = world.users[S.Role.OPERATIONS], world.users[S.Role.VIEWER]
    wallet_watch_set(actor=world.actor(S.Role.OPERATIONS), wallet_id=w.pk, watching=True)
    wallet_watch_set(actor=world.actor(S.Role.VIEWER), wallet_id=w.pk, watching=True)
    wallet_watch_set(actor=world.actor(S.Role.VIEWER), wallet_id=w.pk, watching=False)

    debit(w, "20.00")

    event = the_event(world.tenant, LOW)
    assert recipients(event) == [ops.pk]
    assert viewer.pk not in recipients(event)
    title, link = title_and_link(event)
    assert title == f"Wallet #{w.pk} is below its minimum: 30.00 USD (minimum 40.00)"
    assert link == f"/wallets/{w.pk}/"


def test_many_wallets_moved_at_once_report_only_those_that_crossed(world):
    # what a prepaid run chunk hands over: (wallet with its new balance, balance before)
    t = world.tenant
    crossed = b.wallet(t, balance="90.00", min_balance="95.00")
    above = b.wallet(t, balance="200.00", min_balance="95.00")
    already_below = b.wallet(t, balance="50.00", min_balance="95.00")
    changes = [(crossed, D("100.00")), (above, D("210.00")), (already_below, D("60.00"))]

    with transaction.atomic():
        assert low_balance_emit(changes=changes, tenant=t) == 1

    event = the_event(t, LOW)
    assert event.object_id == str(crossed.pk)
    assert (event.payload["balance_before"], event.payload["balance"]) == ("100.00", "90.00")


def test_prepaid_run_completed_event_carries_its_counters(world):
    t = world.tenant
    acc = b.account(t)
    b.wallet(t, acc, balance="100.00")
    b.service(t, acc, price="30.00", period_days=30, rating="POST")
    run = prepaid_run_trigger(actor=world.actor(), as_of=date(2026, 1, 11), enqueue=False)
    run = prepaid_run_execute(run_id=run.pk)
    assert run.status == PrepaidBillingRun.Status.COMPLETED

    event = the_event(t, "wallets.run.completed")
    assert (event.object_type, event.object_id) == ("wallets.PrepaidBillingRun", str(run.pk))
    run.refresh_from_db()
    assert event.payload == {
        "run": run.pk,
        "as_of": "2026-01-11",
        "status": "COMPLETED",
        "finished_at": run.finished_at.isoformat().replace("+00:00", "Z"),
        "accounts": 1,
        "rated": 1,
        "debited": "10.00",
        "credited": "0.00",
        "invalid": 0,
        "errors": 0,
        "wallets_estimated": run.wallets_estimated,
    }


def test_debit_rolled_back_leaves_no_event(world):
    w = b.wallet(world.tenant, balance="50.00", min_balance="40.00")
    with pytest.raises(RuntimeError), transaction.atomic():
        debit(w, "20.00")
        assert len(events_of(world.tenant, LOW)) == 1
        raise RuntimeError("forced rollback")
    assert not Event.objects.filter(tenant=world.tenant).exists()


# --- watching ---------------------------------------------------------------------------------


def test_watch_service_is_idempotent_and_tenant_bound(world):
    w = b.wallet(world.tenant, balance="10.00")
    actor = world.actor(S.Role.VIEWER)
    assert wallet_watch_set(actor=actor, wallet_id=w.pk, watching=True) is True
    assert wallet_watch_set(actor=actor, wallet_id=w.pk, watching=True) is True
    assert WalletWatch.objects.filter(wallet=w).count() == 1
    assert wallet_watch_set(actor=actor, wallet_id=w.pk, watching=False) is False
    assert not WalletWatch.objects.filter(wallet=w).exists()

    other = b.wallet(world.other_tenant, balance="10.00")
    with pytest.raises(NotFound):
        wallet_watch_set(actor=actor, wallet_id=other.pk, watching=True)


def test_watch_api_post_and_delete(world):
    w = b.wallet(world.tenant, balance="10.00")
    client = world.client(S.Role.VIEWER)

    r = client.post(f"/api/wallets/{w.pk}/watch")
    assert (r.status_code, r.json()) == (200, {"wallet": w.pk, "watching": True})
    assert WalletWatch.objects.filter(wallet=w, user=world.users[S.Role.VIEWER]).exists()

    r = client.delete(f"/api/wallets/{w.pk}/watch")
    assert (r.status_code, r.json()) == (200, {"wallet": w.pk, "watching": False})
    assert not WalletWatch.objects.filter(wallet=w).exists()

    other = b.wallet(world.other_tenant, balance="10.00")
    assert client.post(f"/api/wallets/{other.pk}/watch").status_code == 404
    assert world.client(None).post(f"/api/wallets/{w.pk}/watch").status_code == 401


def test_watch_button_on_the_wallet_page(world):
    w = b.wallet(world.tenant, balance="10.00")
    client = world.client(S.Role.OPERATIONS)

    page = client.get(f"/wallets/{w.pk}/").content.decode()
    assert 'id="watch-button"' in page and 'id="unwatch-button"' not in page

    r = client.post(f"/wallets/{w.pk}/watch/", {"watching": "1"})
    assert (r.status_code, r["Location"]) == (302, f"/wallets/{w.pk}/")
    page = client.get(f"/wallets/{w.pk}/").content.decode()
    assert 'id="unwatch-button"' in page
    assert "You watch this wallet" in page

    client.post(f"/wallets/{w.pk}/watch/", {"watching": "0"})
    assert not WalletWatch.objects.filter(wallet=w).exists()
