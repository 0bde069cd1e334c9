"""A product's VAT class and early-cancellation penalty, and a service's binding end, through the
API (issue 18): what partner systems set so runs charge VAT and penalties."""

from __future__ import annotations

from datetime import date

from core import scopes as S
from core.models import AuditEntry
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import Product, SubscriptionService

OWNER, VIEWER = S.Role.OWNER, S.Role.VIEWER


def test_product_patch_sets_vat_class_and_fixed_penalty_and_audits(world):
    pb.tax_class(world.tenant, "STD")
    prod = b.product(world.tenant, "CARE")
    client = world.client(OWNER)
    # when the product gets a VAT class and a fixed 25.00 penalty
    r = client.patch(
        "/api/products/CARE",
        {"tax_class": "STD", "penalty_kind": "FIXED", "penalty_amount": "25.00"},
        format="json",
    )
    # then the product reads back with both, and the change is in the audit trail
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["tax_class"], body["penalty_kind"], body["penalty_amount"]) == (
        "STD",
        "FIXED",
        "25.00",
    )
    prod.refresh_from_db()
    assert prod.tax_class.code == "STD" and str(prod.penalty_amount) == "25.00"
    entry = AuditEntry.objects.get(
        tenant=world.tenant, action="Product.pricing_update", object_id=str(prod.pk)
    )
    assert entry.payload["tax_class"] == {"from": None, "to": "STD"}
    # when the VAT class is cleared, only that changes
    r = client.patch("/api/products/CARE", {"tax_class": None}, format="json")
    assert r.status_code == 200 and r.json()["tax_class"] is None
    assert r.json()["penalty_kind"] == "FIXED"


def test_product_patch_refuses_an_unknown_tax_class_by_field_and_viewers(world):
    b.product(world.tenant, "CARE")
    r = world.client(OWNER).patch("/api/products/CARE", {"tax_class": "NOPE"}, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["message"].startswith("tax_class:")
    assert Product.objects.get(tenant=world.tenant, code="CARE").tax_class_id is None
    r = world.client(VIEWER).patch("/api/products/CARE", {"penalty_kind": ""}, format="json")
    assert r.status_code == 403


def test_service_patch_sets_and_clears_binding_end(world):
    acc = b.account(world.tenant)
    svc = b.service(world.tenant, acc)
    client = world.client(OWNER)
    # when the binding end is set with a price change in the same request
    r = client.patch(
        f"/api/services/{svc.pk}",
        {"binding_end": "2027-01-01", "price_per_period": "35.00"},
        format="json",
    )
    # then both are stored and read back
    assert r.status_code == 200, r.content
    assert r.json()["binding_end"] == "2027-01-01" and r.json()["price_per_period"] == "35.00"
    svc.refresh_from_db()
    assert svc.binding_end == date(2027, 1, 1)
    # when it is cleared with null
    r = client.patch(f"/api/services/{svc.pk}", {"binding_end": None}, format="json")
    assert r.status_code == 200 and r.json()["binding_end"] is None
    assert SubscriptionService.objects.get(pk=svc.pk).binding_end is None


def test_service_patch_with_a_bad_binding_end_changes_nothing(world):
    acc = b.account(world.tenant)
    svc = b.service(world.tenant, acc)
    r = world.client(OWNER).patch(
        f"/api/services/{svc.pk}",
        {"binding_end": "2027-13-01", "price_per_period": "35.00"},
        format="json",
    )
    assert r.status_code == 400
    assert "binding_end" in r.json()["error"]["message"]
    svc.refresh_from_db()
    assert str(svc.price_per_period) == "30.00" and svc.binding_end is None
