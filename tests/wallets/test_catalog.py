"""Partner writes: subscriptions, services, state periods and usage records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import ServiceStatePeriod, Subscription, SubscriptionService, UsageRecord
from wallets.services.catalog import (
    service_create,
    service_period_add,
    service_update,
    subscription_create,
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
        ({"period_days": 0}, "^period_days: expected a whole number >= 1"),
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
