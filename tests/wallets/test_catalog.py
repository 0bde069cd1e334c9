"""Partner writes: subscriptions, services, state periods and usage records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import F, QuerySet

from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import ServiceStatePeriod, Subscription, SubscriptionService, UsageRecord
from wallets.services.catalog import (
    PERIOD_DAYS_MAX,
    service_create,
    service_period_add,
    service_update,
    subscription_create,
    subscription_update,
    usage_create,
    usage_update,
)

D = date


def periods_of(svc) -> list[tuple]:
    return list(svc.periods.order_by("start").values_list("state", "start", "end"))


def changed_at(w):
    w.refresh_from_db()
    return w.changed_at


@pytest.fixture
def scene(world):
    acc = b.account(world.tenant, "PP-CAT-1")
    w = b.wallet(world.tenant, acc, balance="50.00")
    actor = world.actor()
    sub = subscription_create(actor=actor, account_number=acc.number, external_id="SUB-1")
    svc = service_create(
        actor=actor,
        subscription_external_id="SUB-1",
        external_id="SVC-1",
        product="DATA",
        price_per_period=Decimal("30.00"),
        period_days=30,
        rating="POST",
        periods=[{"state": "ACTIVE", "start": "2026-01-01", "end": None}],
    )
    return world, acc, w, sub, svc


def test_subscription_and_service_create(scene):
    world, acc, w, sub, svc = scene
    assert sub.account == acc
    svc.refresh_from_db()
    assert (svc.product.code, svc.price_per_period, svc.period_days, svc.rating) == (
        "DATA",
        Decimal("30.00"),
        30,
        "POST",
    )
    assert svc.rated_up_to is None
    assert periods_of(svc) == [("ACTIVE", D(2026, 1, 1), None)]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"Subscription.create", "SubscriptionService.create"} <= actions


def test_create_refuses_unknown_account_duplicates_and_bad_fields(scene):
    world, acc, w, sub, svc = scene
    actor = world.actor()
    with pytest.raises(DomainError, match="^account_number: no account numbered 'NOPE'"):
        subscription_create(actor=actor, account_number="NOPE", external_id="SUB-2")
    with pytest.raises(Conflict):
        subscription_create(actor=actor, account_number=acc.number, external_id="SUB-1")
    base = {
        "actor": actor,
        "subscription_external_id": "SUB-1",
        "external_id": "SVC-2",
        "product": "DATA",
        "price_per_period": "10.00",
        "period_days": 30,
        "rating": "PRE",
    }
    bad = [
        ({"price_per_period": "-1.00"}, "^price_per_period: expected"),
        ({"period_days": 0}, "^period_days: expected a whole number from 1 to 3660$"),
        ({"period_days": 3661}, "^period_days: expected a whole number from 1 to 3660$"),
        ({"rating": "SOMETIMES"}, "^rating: expected one of PRE, POST"),
        ({"rated_up_to": "2026-02-30"}, "^rated_up_to: expected YYYY-MM-DD"),
        ({"subscription_external_id": "SUB-X"}, "^subscription_external_id: no subscription"),
        (
            {"periods": [{"state": "ACTIVE", "start": "2026-02-01", "end": "2026-01-01"}]},
            r"^periods\[0\].end: expected a date after start",
        ),
        (
            {
                "periods": [
                    {"state": "ACTIVE", "start": "2026-01-01", "end": "2026-02-01"},
                    {"state": "SUSPENDED", "start": "2026-01-15"},
                ]
            },
            r"^periods\[1\]: overlaps periods\[0\]",
        ),
    ]
    for override, message in bad:
        with pytest.raises(DomainError, match=message):
            service_create(**{**base, **override})
    with pytest.raises(Conflict):
        service_create(**{**base, "external_id": "SVC-1"})
    assert SubscriptionService.objects.filter(tenant=world.tenant).count() == 1


def test_partner_writes_need_the_run_trigger_scope(scene):
    world, acc, w, sub, svc = scene
    viewer = world.actor(S.Role.VIEWER)
    with pytest.raises(ScopeDenied):
        subscription_create(actor=viewer, account_number=acc.number, external_id="SUB-9")
    with pytest.raises(ScopeDenied):
        usage_create(
            actor=viewer,
            service_id=svc.pk,
            amount="1.00",
            directive="TO_BE_BILLED",
            billing_effective_date="2026-01-05",
        )
    assert not Subscription.objects.filter(external_id="SUB-9").exists()
    assert not UsageRecord.objects.exists()


def test_period_add_closes_the_open_period(scene):
    world, acc, w, sub, svc = scene
    service_period_add(
        actor=world.actor(), service_id=svc.pk, state="SUSPENDED", start="2026-03-01"
    )
    assert periods_of(svc) == [
        ("ACTIVE", D(2026, 1, 1), D(2026, 3, 1)),
        ("SUSPENDED", D(2026, 3, 1), None),
    ]


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-01-01", None), ("2025-12-01", "2026-01-02"), ("2025-06-01", None)],
)
def test_period_add_refuses_an_overlap(scene, start, end):
    world, acc, w, sub, svc = scene
    with pytest.raises(Conflict, match="overlaps the ACTIVE period"):
        service_period_add(
            actor=world.actor(), service_id=svc.pk, state="SUSPENDED", start=start, end=end
        )
    assert periods_of(svc) == [("ACTIVE", D(2026, 1, 1), None)]


def test_period_add_refuses_an_overlap_with_a_closed_period(scene):
    world, acc, w, sub, svc = scene
    actor = world.actor()
    service_period_add(actor=actor, service_id=svc.pk, state="SUSPENDED", start="2026-03-01")
    service_period_add(actor=actor, service_id=svc.pk, state="ACTIVE", start="2026-04-01")
    with pytest.raises(Conflict):
        service_period_add(actor=actor, service_id=svc.pk, state="CANCELLED", start="2026-03-15")
    assert len(periods_of(svc)) == 3
    # before every period, closed: fine
    service_period_add(
        actor=actor, service_id=svc.pk, state="SUSPENDED", start="2025-12-01", end="2026-01-01"
    )
    assert periods_of(svc)[0] == ("SUSPENDED", D(2025, 12, 1), D(2026, 1, 1))


def test_service_update_changes_price_without_touching_rated_state(scene):
    world, acc, w, sub, svc = scene
    svc.rated_up_to = D(2026, 2, 1)
    svc.save()
    service_update(
        actor=world.actor(), service_id=svc.pk, price_per_period="45.50", product="VOICE"
    )
    svc.refresh_from_db()
    assert (svc.price_per_period, svc.product.code, svc.rated_up_to) == (
        Decimal("45.50"),
        "VOICE",
        D(2026, 2, 1),
    )
    entry = AuditEntry.objects.filter(action="SubscriptionService.update").get()
    assert entry.payload["price_per_period"] == {"from": "30.00", "to": "45.50"}
    with pytest.raises(NotFound):
        service_update(actor=world.actor(), service_id=svc.pk + 999, price_per_period="1.00")


def test_usage_create_and_update_while_posted(scene):
    world, acc, w, sub, svc = scene
    actor = world.actor()
    u = usage_create(
        actor=actor,
        service_id=svc.pk,
        amount="4.20",
        directive="TO_BE_BILLED",
        billing_effective_date="2026-01-10",
        external_id="CDR-1",
    )
    with pytest.raises(Conflict):
        usage_create(
            actor=actor,
            service_id=svc.pk,
            amount="1.00",
            directive="TO_BE_BILLED",
            billing_effective_date="2026-01-10",
            external_id="CDR-1",
        )
    for field, value, message in [
        ("amount", "0", "^amount: expected"),
        ("directive", "MAYBE", "^directive: expected one of"),
        ("billing_effective_date", "10/01/2026", "^billing_effective_date: expected"),
    ]:
        with pytest.raises(DomainError, match=message):
            usage_update(actor=actor, usage_id=u.pk, **{field: value})
    usage_update(actor=actor, usage_id=u.pk, directive="TO_BE_CREDITED", amount="3.00")
    u.refresh_from_db()
    assert (u.directive, u.amount) == ("TO_BE_CREDITED", Decimal("3.00"))


def test_usage_update_refused_once_rated(scene):
    world, acc, w, sub, svc = scene
    u = b.usage(world.tenant, svc, "5.00")
    UsageRecord.objects.filter(pk=u.pk).update(state="RATED")
    with pytest.raises(Conflict) as err:
        usage_update(actor=world.actor(), usage_id=u.pk, amount="1.00")
    assert err.value.http_status == 409
    u.refresh_from_db()
    assert u.amount == Decimal("5.00")


def test_every_catalog_write_bumps_the_wallet_changed_at(scene):
    world, acc, w, sub, svc = scene
    actor = world.actor()
    other = b.wallet(world.tenant, balance="1.00")
    other_before = changed_at(other)
    u = b.usage(world.tenant, svc, "5.00")
    writes = [
        lambda: subscription_create(actor=actor, account_number=acc.number, external_id="SUB-2"),
        lambda: service_create(
            actor=actor,
            subscription_external_id="SUB-2",
            external_id="SVC-2",
            product="DATA",
            price_per_period="1.00",
            period_days=1,
            rating="PRE",
        ),
        lambda: service_update(actor=actor, service_id=svc.pk, period_days=31),
        lambda: service_period_add(
            actor=actor, service_id=svc.pk, state="SUSPENDED", start="2026-05-01"
        ),
        lambda: usage_create(
            actor=actor,
            service_id=svc.pk,
            amount="1.00",
            directive="TO_BE_BILLED",
            billing_effective_date="2026-01-02",
        ),
        lambda: usage_update(actor=actor, usage_id=u.pk, amount="2.00"),
    ]
    for write in writes:
        before = changed_at(w)
        write()
        assert changed_at(w) > before, write
    assert changed_at(other) == other_before
    assert ServiceStatePeriod.objects.filter(service=svc).count() == 2


@pytest.fixture
def lock_log(monkeypatch):
    """The models whose rows are locked (select_for_update), in the order asked."""
    log: list[str] = []
    original = QuerySet.select_for_update

    def spy(self, *args, **kwargs):
        log.append(self.model.__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", spy)
    return log


def test_catalog_writes_lock_the_wallets_before_the_service_or_usage_row(scene, lock_log):
    # a prepaid run chunk locks the account's wallets and then writes its services and usage:
    # every catalog write takes the same order, or the two deadlock on PostgreSQL
    world, acc, w, sub, svc = scene
    actor = world.actor()
    u = b.usage(world.tenant, svc, "5.00")
    writes = {
        "service_update": lambda: service_update(actor=actor, service_id=svc.pk, period_days=31),
        "service_period_add": lambda: service_period_add(
            actor=actor, service_id=svc.pk, state="SUSPENDED", start="2026-05-01"
        ),
        "usage_create": lambda: usage_create(
            actor=actor,
            service_id=svc.pk,
            amount="1.00",
            directive="TO_BE_BILLED",
            billing_effective_date="2026-01-02",
        ),
        "usage_update": lambda: usage_update(actor=actor, usage_id=u.pk, amount="2.00"),
        "subscription_create": lambda: subscription_create(
            actor=actor, account_number=acc.number, external_id="SUB-LOCK"
        ),
        "service_create": lambda: service_create(
            actor=actor,
            subscription_external_id="SUB-1",
            external_id="SVC-LOCK",
            product="DATA",
            price_per_period="1.00",
            period_days=1,
            rating="PRE",
        ),
    }
    for name, write in writes.items():
        lock_log.clear()
        write()
        assert lock_log and lock_log[0] == "Wallet", (name, lock_log)


def _taken_looks_free(monkeypatch, model) -> None:
    """The duplicate check sees nothing, as when another create commits right after it."""
    original = QuerySet.exists
    monkeypatch.setattr(QuerySet, "exists", lambda qs: False if qs.model is model else original(qs))


def test_concurrent_subscription_create_is_a_conflict_not_a_crash(scene, monkeypatch):
    world, acc, *_ = scene
    _taken_looks_free(monkeypatch, Subscription)
    with pytest.raises(Conflict, match="^external_id: subscription 'SUB-1' already exists"):
        subscription_create(actor=world.actor(), account_number=acc.number, external_id="SUB-1")
    assert Subscription.objects.filter(external_id="SUB-1").count() == 1


def test_concurrent_service_create_is_a_conflict_not_a_crash(scene, monkeypatch):
    world, *_ = scene
    _taken_looks_free(monkeypatch, SubscriptionService)
    with pytest.raises(Conflict, match="^external_id: service 'SVC-1' already exists"):
        service_create(
            actor=world.actor(),
            subscription_external_id="SUB-1",
            external_id="SVC-1",
            product="DATA",
            price_per_period="1.00",
            period_days=1,
            rating="PRE",
        )
    assert SubscriptionService.objects.filter(external_id="SVC-1").count() == 1


def test_period_days_limit_is_the_api_limit(scene):
    world, acc, w, sub, svc = scene
    from wallets.api.serializers_catalog import PrepaidServiceIn, PrepaidServiceUpdateIn

    assert PERIOD_DAYS_MAX == 3660
    assert PrepaidServiceIn().fields["period_days"].max_value == PERIOD_DAYS_MAX
    assert PrepaidServiceUpdateIn().fields["period_days"].max_value == PERIOD_DAYS_MAX
    assert service_update(actor=world.actor(), service_id=svc.pk, period_days=3660).period_days
    with pytest.raises(DomainError, match="^period_days: expected a whole number from 1 to 3660$"):
        service_update(actor=world.actor(), service_id=svc.pk, period_days=36600)
    svc.refresh_from_db()
    assert svc.period_days == 3660


def test_subscription_update_moves_it_to_another_account(scene):
    world, acc, w, sub, svc = scene
    acc2 = b.account(world.tenant, "PP-CAT-2")
    w2 = b.wallet(world.tenant, acc2, balance="5.00")
    bystander = b.wallet(world.tenant, balance="1.00")
    before = (changed_at(w), changed_at(w2), changed_at(bystander))

    moved = subscription_update(
        actor=world.actor(), subscription_id=sub.pk, account_number="PP-CAT-2"
    )

    assert moved.account == acc2
    sub.refresh_from_db()
    assert sub.account == acc2
    assert list(SubscriptionService.objects.filter(subscription__account=acc2)) == [svc]
    assert changed_at(w) > before[0] and changed_at(w2) > before[1]
    assert changed_at(bystander) == before[2]
    entry = AuditEntry.objects.get(action="Subscription.update")
    assert entry.payload == {"account": {"from": "PP-CAT-1", "to": "PP-CAT-2"}}
    # naming the account it already has, or nothing, changes nothing
    subscription_update(actor=world.actor(), subscription_id=sub.pk, account_number="PP-CAT-2")
    subscription_update(actor=world.actor(), subscription_id=sub.pk)
    assert AuditEntry.objects.filter(action="Subscription.update").count() == 1


def test_subscription_update_locks_both_accounts_wallets_first(scene, lock_log):
    world, acc, w, sub, svc = scene
    b.wallet(world.tenant, b.account(world.tenant, "PP-CAT-2"))
    subscription_update(actor=world.actor(), subscription_id=sub.pk, account_number="PP-CAT-2")
    assert lock_log[:2] == ["Wallet", "Subscription"]


def test_subscription_update_refusals(scene):
    world, acc, w, sub, svc = scene
    b.account(world.tenant, "PP-NO-WALLET")
    actor = world.actor()
    with pytest.raises(Conflict, match="^account_number: account 'PP-NO-WALLET' has no wallet"):
        subscription_update(actor=actor, subscription_id=sub.pk, account_number="PP-NO-WALLET")
    with pytest.raises(DomainError, match="^account_number: no account numbered 'NOPE'"):
        subscription_update(actor=actor, subscription_id=sub.pk, account_number="NOPE")
    with pytest.raises(NotFound):
        subscription_update(actor=actor, subscription_id=sub.pk + 999, account_number=acc.number)
    with pytest.raises(NotFound):
        subscription_update(
            actor=Actor(tenant=world.other_tenant, user=world.outsider),
            subscription_id=sub.pk,
            account_number=acc.number,
        )
    for role in (S.Role.OPERATIONS, S.Role.VIEWER):
        with pytest.raises(ScopeDenied):
            subscription_update(
                actor=world.actor(role), subscription_id=sub.pk, account_number="PP-NO-WALLET"
            )
    sub.refresh_from_db()
    assert sub.account == acc
    assert not AuditEntry.objects.filter(action="Subscription.update").exists()


def _run_chunk_then_write(world, write, *, service_id: int) -> list:
    """A run chunk holding the account's wallet lock while a catalog write starts, then
    writing the service and usage rows (the run's order); each side's result or error."""
    import threading
    import time

    from django.db import transaction

    from tests.concurrency import race
    from wallets.models import Wallet

    held = threading.Event()

    def side(i: int):
        if i == 0:
            with transaction.atomic():
                list(
                    Wallet.objects.select_for_update(of=("self",))
                    .filter(tenant=world.tenant)
                    .order_by("id")
                )
                held.set()
                time.sleep(0.5)  # the catalog write now takes (or waits for) its locks
                SubscriptionService.objects.filter(pk=service_id).update(rated_up_to=D(2026, 1, 1))
                UsageRecord.objects.filter(service_id=service_id).update(amount=F("amount"))
            return "run"
        assert held.wait(10)
        return write()

    return race(2, side)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", ["service_update", "service_period_add", "usage_update"])
def test_catalog_write_during_a_run_chunk_waits_instead_of_deadlocking(world, write):
    acc = b.account(world.tenant, "PP-LOCK-1")
    b.wallet(world.tenant, acc, balance="50.00")
    svc = b.service(world.tenant, acc, price="30.00", period_days=30, rating="POST")
    u = b.usage(world.tenant, svc, "5.00")
    actor = world.actor()
    writes = {
        "service_update": lambda: service_update(actor=actor, service_id=svc.pk, period_days=31),
        "service_period_add": lambda: service_period_add(
            actor=actor, service_id=svc.pk, state="SUSPENDED", start="2026-05-01"
        ),
        "usage_update": lambda: usage_update(actor=actor, usage_id=u.pk, amount="2.00"),
    }
    results = _run_chunk_then_write(world, writes[write], service_id=svc.pk)
    assert not [r for r in results if isinstance(r, Exception)], results
    svc.refresh_from_db()
    assert svc.rated_up_to == D(2026, 1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_creates_of_one_subscription_at_once_give_one_conflict(world):
    from tests.concurrency import race

    acc = b.account(world.tenant, "PP-RACE-1")  # no wallet: nothing serializes the creates
    results = race(
        4,
        lambda i: subscription_create(
            actor=world.actor(), account_number=acc.number, external_id="SUB-RACE"
        ),
    )
    assert sum(isinstance(r, Subscription) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 3, results
