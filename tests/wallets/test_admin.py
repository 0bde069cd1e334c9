"""The wallets admin (issue 15, SPEC 9): every model shown, the ledger read-only, and top-ups,
thresholds, service suspensions, usage cancellations and runs as actions through the services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from core import scopes as S
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import (
    PrepaidBillingRun,
    ServiceStatePeriod,
    UsageRecord,
    Wallet,
    WalletTransaction,
)

WALLETS = "/admin/wallets/wallet/"


@pytest.fixture
def root(world, client):
    """A Django superuser signed in to the admin (acts as the system in every tenant)."""
    user = get_user_model().objects.create_superuser(username="root", password="x-Pass-12345!")
    client.force_login(user)
    return client


def _action(client, url: str, action: str, pks, **fields):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **fields}
    return client.post(url, data, follow=True)


def _ledger(wallet: Wallet) -> list[tuple[str, Decimal, str]]:
    return list(
        WalletTransaction.objects.filter(wallet=wallet)
        .order_by("id")
        .values_list("kind", "amount", "cause")
    )


def test_every_wallets_model_has_an_admin_page_that_opens(root, world):
    # given a scene with a wallet, a service with usage
    acc = b.account(world.tenant, "PP-ADM-1")
    b.wallet(world.tenant, acc, balance="10.00")
    b.usage(world.tenant, b.service(world.tenant, acc), "1.00")
    for model in apps.get_app_config("wallets").get_models():
        # then every model is registered and its list opens
        assert model in admin.site._registry, model.__name__
        url = f"/admin/wallets/{model._meta.model_name}/"
        assert root.get(url).status_code == 200, url


def test_top_up_action_asks_first_then_credits_through_the_service(root, world):
    # given a wallet with 10.00
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-ADM-2"), balance="10.00")
    # when the action is chosen, the admin asks for the amount and the reference
    asked = _action(root, WALLETS, "top_up", [w.pk])
    assert asked.status_code == 200
    assert 'name="amount"' in asked.content.decode()
    assert 'name="reference"' in asked.content.decode()
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")
    # when it is confirmed with 25.50
    done = _action(root, WALLETS, "top_up", [w.pk], apply="1", amount="25.50", reference="R-77")
    # then the balance is 35.50, the ledger has a TOP_UP credit, and the audit names it
    assert "credited 25.50, balance 35.50" in done.content.decode()
    w.refresh_from_db()
    assert w.balance == Decimal("35.50")
    assert _ledger(w)[-1] == ("CREDIT", Decimal("25.50"), "TOP_UP")
    assert WalletTransaction.objects.get(wallet=w, cause="TOP_UP").reference == "R-77"
    assert AuditEntry.objects.filter(tenant=world.tenant, action="Wallet.topup").count() == 1


def test_top_up_action_refuses_a_zero_amount_with_the_services_message(root, world):
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-ADM-3"), balance="10.00")
    response = _action(root, WALLETS, "top_up", [w.pk], apply="1", amount="0.00", reference="R")
    # then the refusal names the amount, and nothing moved
    assert "amount:" in response.content.decode()
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")
    assert len(_ledger(w)) == 1


def test_top_up_action_by_staff_without_the_scope_is_refused(world, client):
    # given a VIEWER of the tenant who is also admin staff and may view wallets there
    viewer = world.users[S.Role.VIEWER]
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_wallet", content_type__app_label="wallets")
    )
    client.force_login(get_user_model().objects.get(pk=viewer.pk))
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-ADM-4"), balance="10.00")
    # when they top up through the admin
    response = _action(client, WALLETS, "top_up", [w.pk], apply="1", amount="5.00", reference="R")
    # then the service refuses (wallets.topup), and the balance is unchanged
    assert response.status_code == 200
    assert "wallets.topup" in response.content.decode()
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")


def test_threshold_action_needs_a_reason_and_changes_only_what_is_filled(root, world):
    w = b.wallet(
        world.tenant, b.account(world.tenant, "PP-ADM-5"), min_balance="5.00", stop_service="2.00"
    )
    # when confirmed without a reason / then the form comes back and nothing changed
    again = _action(
        root, WALLETS, "change_thresholds", [w.pk], apply="1", stop_service_threshold="3"
    )
    assert 'name="reason"' in again.content.decode()
    w.refresh_from_db()
    assert (w.min_balance_threshold, w.stop_service_threshold) == (Decimal("5"), Decimal("2"))
    # when confirmed with a stop threshold, capping on and a reason
    _action(
        root,
        WALLETS,
        "change_thresholds",
        [w.pk],
        apply="1",
        stop_service_threshold="3.00",
        restrict_below_stop="on",
        reason="customer asked",
    )
    # then the minimum is kept, the stop threshold and capping changed
    w.refresh_from_db()
    assert w.min_balance_threshold == Decimal("5.00")
    assert w.stop_service_threshold == Decimal("3.00")
    assert w.restrict_below_stop is True


def test_ledger_rows_cannot_be_added_changed_or_deleted_in_the_admin(root, world):
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-ADM-6"), balance="10.00")
    tx = WalletTransaction.objects.get(wallet=w)
    base = "/admin/wallets/wallettransaction/"
    assert root.get(f"{base}add/").status_code == 403
    assert root.get(f"{base}{tx.pk}/delete/").status_code == 403
    # the change page shows the row read-only: a post changes nothing
    assert root.get(f"{base}{tx.pk}/change/").status_code == 200
    root.post(f"{base}{tx.pk}/change/", {"amount": "999.00", "kind": "CREDIT"})
    tx.refresh_from_db()
    assert tx.amount == Decimal("10.00")
    # and the list offers no bulk delete
    assert "delete_selected" not in root.get(base).content.decode()
    # nor can a wallet's balance be typed in
    root.post(f"{WALLETS}{w.pk}/change/", {"balance": "999.00"})
    w.refresh_from_db()
    assert w.balance == Decimal("10.00")


def test_run_again_today_triggers_a_new_run_with_the_same_filters(
    root, world, django_capture_on_commit_callbacks
):
    # given a wallet whose post-rated service is due and an ended run over its account
    acc = b.account(world.tenant, "PP-ADM-7")
    w = b.wallet(world.tenant, acc, balance="100.00")
    today = timezone.localdate()
    b.service(
        world.tenant,
        acc,
        price="30.00",
        period_days=30,
        rating="POST",
        periods=[("ACTIVE", today - timedelta(days=100), None)],
        rated_up_to=today - timedelta(days=10),
    )
    from wallets.services.runs import prepaid_run_trigger

    first = prepaid_run_trigger(
        actor=world.actor(S.Role.OWNER), as_of=today, accounts=["PP-ADM-7"], enqueue=False
    )
    # when the admin runs it again (the worker runs synchronously in tests, once committed)
    with django_capture_on_commit_callbacks(execute=True):
        _action(root, "/admin/wallets/prepaidbillingrun/", "run_again_today", [first.pk])
    # then a second run over the same account exists and debited the wallet
    second = PrepaidBillingRun.objects.exclude(pk=first.pk).get(tenant=world.tenant)
    assert second.accounts == ["PP-ADM-7"]
    assert second.as_of == today
    # for the 10 days rated since: 30.00 / 30 x 10
    w.refresh_from_db()
    assert w.balance == Decimal("90.00")
    assert _ledger(w)[-1] == ("DEBIT", Decimal("-10.00"), "PREPAID_BILLING")


def test_start_now_refuses_a_run_that_is_not_a_draft(root, world):
    b.wallet(world.tenant, b.account(world.tenant, "PP-ADM-8"), balance="1.00")
    from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger

    run = prepaid_run_trigger(actor=world.actor(S.Role.OWNER), as_of=date.today(), enqueue=False)
    run = prepaid_run_execute(run_id=run.pk)
    response = _action(root, "/admin/wallets/prepaidbillingrun/", "start_now", [run.pk])
    assert "expected DRAFT" in response.content.decode()
    assert PrepaidBillingRun.objects.filter(tenant=world.tenant).count() == 1


def test_suspend_action_adds_a_suspended_period_from_today(root, world):
    pytest.importorskip("wallets.services.catalog")
    acc = b.account(world.tenant, "PP-ADM-9")
    svc = b.service(world.tenant, acc, periods=[("ACTIVE", date(2026, 1, 1), None)])
    _action(root, "/admin/wallets/subscriptionservice/", "suspend", [svc.pk])
    today = timezone.localdate()
    periods = list(
        ServiceStatePeriod.objects.filter(service=svc)
        .order_by("start")
        .values_list("state", "start", "end")
    )
    assert periods == [("ACTIVE", date(2026, 1, 1), today), ("SUSPENDED", today, None)]


def test_cancel_action_cancels_a_posted_usage_record(root, world):
    pytest.importorskip("wallets.services.catalog")
    acc = b.account(world.tenant, "PP-ADM-10")
    u = b.usage(world.tenant, b.service(world.tenant, acc), "4.00")
    _action(root, "/admin/wallets/usagerecord/", "cancel", [u.pk])
    u.refresh_from_db()
    assert u.directive == UsageRecord.Directive.CANCELLED
