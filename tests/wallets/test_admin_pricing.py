"""The pricing admin (issue 18): pages for tax classes, price plans, discounts, bundles and
wallet definitions, read-only, with rates added, discounts ended and definitions activated
through the pricing services; rated items show their breakdown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from core import scopes as S
from core.models import AuditEntry
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import (
    Discount,
    PrepaidBillingRun,
    PricePlanRate,
    RatedItem,
    TaxRate,
    WalletDefinition,
)

ADMIN = "/admin/wallets"


@pytest.fixture
def root(world, client):
    user = get_user_model().objects.create_superuser(username="root", password="x-Pass-12345!")
    client.force_login(user)
    return client


def _action(client, model: str, action: str, pks, **fields):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **fields}
    return client.post(f"{ADMIN}/{model}/", data, follow=True)


def test_pricing_pages_open_and_are_read_only(root, world):
    tc = pb.tax_class(world.tenant, "STD")
    plan = pb.price_plan(world.tenant, "DATA", code="DATA-STD")
    disc = pb.discount(world.tenant, product=plan.product, code="SPRING", name="Spring promo")
    bundle = pb.bundle(world.tenant, "FAMILY", "BOTH", ["DATA", "VOICE"])
    wd = pb.wallet_definition(world.tenant, ["USAGE"], code="USAGE-ONLY")
    for model, obj in [
        ("taxclass", tc),
        ("priceplan", plan),
        ("discount", disc),
        ("walletdefinition", wd),
        ("product", bundle),
    ]:
        assert root.get(f"{ADMIN}/{model}/").status_code == 200, model
        assert root.get(f"{ADMIN}/{model}/{obj.pk}/change/").status_code == 200, model
        assert root.get(f"{ADMIN}/{model}/add/").status_code == 403, model
        assert root.get(f"{ADMIN}/{model}/{obj.pk}/delete/").status_code == 403, model
    # the tax class page lists its rates, the plan its rates, the bundle its components
    assert "20.0000" in root.get(f"{ADMIN}/taxclass/{tc.pk}/change/").content.decode()
    assert "30.00" in root.get(f"{ADMIN}/priceplan/{plan.pk}/change/").content.decode()
    page = root.get(f"{ADMIN}/product/{bundle.pk}/change/").content.decode()
    assert "VOICE" in page and "Flexible bundle: the bundle" in page
    # a post to a change page changes nothing
    root.post(f"{ADMIN}/discount/{disc.pk}/change/", {"value": "99"})
    disc.refresh_from_db()
    assert disc.value == Decimal("10")


def test_tax_class_add_rate_asks_then_adds_through_the_service(root, world):
    tc = pb.tax_class(world.tenant, "STD")
    asked = _action(root, "taxclass", "add_rate", [tc.pk])
    assert 'name="rate"' in asked.content.decode()
    assert TaxRate.objects.filter(tax_class=tc).count() == 1
    done = _action(
        root, "taxclass", "add_rate", [tc.pk], apply="1", effective_from="2026-07-01", rate="21"
    )
    assert "21" in done.content.decode()
    rates = list(TaxRate.objects.filter(tax_class=tc).values_list("effective_from", "rate"))
    assert rates == [(date(2020, 1, 1), Decimal("20")), (date(2026, 7, 1), Decimal("21"))]
    assert AuditEntry.objects.filter(tenant=world.tenant, action="TaxClass.update").count() == 1


def test_price_plan_add_rate(root, world):
    plan = pb.price_plan(world.tenant, "DATA", code="DATA-STD")
    _action(
        root,
        "priceplan",
        "add_rate",
        [plan.pk],
        apply="1",
        effective_from="2026-03-01",
        price_per_period="36.00",
        period_days="30",
    )
    rates = list(
        PricePlanRate.objects.filter(plan=plan).values_list("effective_from", "price_per_period")
    )
    assert rates == [(date(2020, 1, 1), Decimal("30.00")), (date(2026, 3, 1), Decimal("36.00"))]


def test_discount_end_needs_a_reason_and_refuses_an_end_before_the_start(root, world):
    prod = b.product(world.tenant, "DATA")
    disc = pb.discount(world.tenant, product=prod, effective_from=date(2026, 3, 1))
    # no reason: the form comes back, nothing changed
    again = _action(root, "discount", "end", [disc.pk], apply="1", effective_to="2026-04-01")
    assert 'name="reason"' in again.content.decode()
    disc.refresh_from_db()
    assert disc.effective_to is None
    # an end before the start: the service's refusal names the field
    early = _action(
        root, "discount", "end", [disc.pk], apply="1", effective_to="2026-02-01", reason="x"
    )
    assert "effective_to:" in early.content.decode()
    disc.refresh_from_db()
    assert disc.effective_to is None
    # a proper end
    _action(root, "discount", "end", [disc.pk], apply="1", effective_to="2026-04-01", reason="over")
    disc.refresh_from_db()
    assert disc.effective_to == date(2026, 4, 1)
    assert AuditEntry.objects.filter(tenant=world.tenant, action="Discount.end").count() == 1


def test_activate_makes_one_definition_active_and_refuses_two_at_once(root, world):
    first = pb.wallet_definition(world.tenant, code="ALL", active=True)
    second = pb.wallet_definition(world.tenant, ["USAGE"], code="USAGE-ONLY", active=False)
    both = _action(root, "walletdefinition", "activate", [first.pk, second.pk])
    assert "at most one wallet definition per tenant" in both.content.decode()
    assert WalletDefinition.objects.get(tenant=world.tenant, active=True).pk == first.pk
    _action(root, "walletdefinition", "activate", [second.pk])
    active = WalletDefinition.objects.filter(tenant=world.tenant, active=True)
    assert list(active.values_list("code", flat=True)) == ["USAGE-ONLY"]


def test_activate_by_staff_without_the_scope_is_refused(world, client):
    viewer = world.users[S.Role.VIEWER]
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_walletdefinition", content_type__app_label="wallets")
    )
    client.force_login(get_user_model().objects.get(pk=viewer.pk))
    wd = pb.wallet_definition(world.tenant, ["USAGE"], active=False)
    response = _action(client, "walletdefinition", "activate", [wd.pk])
    assert response.status_code == 200
    assert "wallets.run.trigger" in response.content.decode()
    wd.refresh_from_db()
    assert wd.active is False


def test_rated_item_page_shows_the_breakdown(root, world):
    acc = b.account(world.tenant, "PP-ADM-P1")
    svc = b.service(world.tenant, acc)
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 2, 1))
    item = RatedItem.objects.create(
        tenant=world.tenant,
        run=run,
        account=acc,
        service=svc,
        kind=RatedItem.Kind.SERVICE,
        start=date(2026, 1, 1),
        end=date(2026, 1, 16),
        active_days=15,
        net=Decimal("15.00"),
        discount=Decimal("1.50"),
        discounts=[
            {
                "code": "SPRING",
                "name": "Spring promo",
                "kind": "PERCENT",
                "value": "10",
                "amount": "1.50",
            }
        ],
        vat_rate=Decimal("20"),
        vat=Decimal("2.70"),
        gross=Decimal("16.20"),
        amount=Decimal("16.20"),
        sign=RatedItem.Sign.POSITIVE,
        debited=Decimal("16.20"),
        reasons=["ends on a VAT rate change"],
        identity="admin-item",
    )
    listed = root.get(f"{ADMIN}/rateditem/").content.decode()
    assert "16.20" in listed and "2.70" in listed
    page = root.get(f"{ADMIN}/rateditem/{item.pk}/change/").content.decode()
    assert "Spring promo (SPRING)" in page
    assert "ends on a VAT rate change" in page
    assert "20.0000" in page
    assert Discount.objects.count() == 0
