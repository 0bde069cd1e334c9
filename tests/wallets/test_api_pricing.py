"""Pricing API (issue 18): tax classes, price plans, discounts, bundles and wallet definitions
written through the pricing services, read back; refusals name the field; run items show their
breakdown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core import scopes as S
from core.models import AuditEntry
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import (
    Discount,
    PrepaidBillingRun,
    PricePlanRate,
    Product,
    RatedItem,
    TaxRate,
    WalletDefinition,
)

OWNER, MANAGER, VIEWER = S.Role.OWNER, S.Role.BILLING_MANAGER, S.Role.VIEWER


def _error(response) -> str:
    return response.json()["error"]["message"]


# --- tax classes -------------------------------------------------------------------------------


def test_tax_class_upsert_creates_then_adds_a_rate_and_reads_back(world):
    client = world.client(OWNER)
    # when a tax class is posted with one rate
    created = client.post(
        "/api/tax-classes",
        {
            "code": "STD",
            "name": "Standard",
            "rates": [{"effective_from": "2026-01-01", "rate": "20"}],
        },
        format="json",
    )
    # then it is created (201) with its rate as a percent
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["rates"] == [{"effective_from": "2026-01-01", "rate": "20.0000"}]
    # when the same code is posted with a VAT change from July
    again = client.post(
        "/api/tax-classes",
        {
            "code": "STD",
            "name": "Standard",
            "rates": [{"effective_from": "2026-07-01", "rate": "21.5"}],
        },
        format="json",
    )
    # then it is updated (200): both rates, oldest first, and the detail says the same
    assert again.status_code == 200, again.content
    detail = client.get(f"/api/tax-classes/{body['id']}").json()
    assert [(r["effective_from"], r["rate"]) for r in detail["rates"]] == [
        ("2026-01-01", "20.0000"),
        ("2026-07-01", "21.5000"),
    ]
    assert [t["code"] for t in client.get("/api/tax-classes").json()["results"]] == ["STD"]
    # the create and the added rate are each audited
    actions = AuditEntry.objects.filter(tenant=world.tenant, action__startswith="TaxClass.")
    assert list(actions.order_by("id").values_list("action", flat=True)) == [
        "TaxClass.create",
        "TaxClass.update",
    ]


def test_tax_class_refusals_name_the_path_and_store_nothing(world):
    client = world.client(OWNER)
    bad_rate = client.post(
        "/api/tax-classes",
        {
            "code": "STD",
            "rates": [
                {"effective_from": "2026-01-01", "rate": "20"},
                {"effective_from": "2026-07-01", "rate": "120"},
            ],
        },
        format="json",
    )
    assert bad_rate.status_code == 400
    assert _error(bad_rate).startswith("rates[1].rate:")
    as_number = client.post(
        "/api/tax-classes",
        {"code": "STD", "rates": [{"effective_from": "2026-01-01", "rate": 20}]},
        format="json",
    )
    assert as_number.status_code == 400
    assert _error(as_number).startswith("rates[0].rate:")
    unknown = client.post(
        "/api/tax-classes",
        {"code": "STD", "rates": [{"effective_from": "2026-01-01", "rate": "20", "x": 1}]},
        format="json",
    )
    assert unknown.status_code == 400
    assert _error(unknown).startswith("rates[0].x:")
    assert TaxRate.objects.filter(tenant=world.tenant).count() == 0
    assert client.get("/api/tax-classes/999999").status_code == 404


def test_viewer_reads_but_cannot_write_pricing(world):
    pb.tax_class(world.tenant, "STD")
    viewer = world.client(VIEWER)
    assert viewer.get("/api/tax-classes").status_code == 200
    refused = viewer.post("/api/tax-classes", {"code": "X"}, format="json")
    assert refused.status_code == 403
    assert world.client(OWNER).get("/api/tax-classes").json()["results"][0]["code"] == "STD"


# --- price plans -------------------------------------------------------------------------------


def test_price_plan_upsert_and_a_rate_added_later(world):
    b.product(world.tenant, "DATA")
    client = world.client(MANAGER)
    created = client.post(
        "/api/price-plans",
        {
            "code": "DATA-STD",
            "product": "DATA",
            "rates": [
                {"effective_from": "2026-01-01", "price_per_period": "30.00", "period_days": 30}
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert (plan["product"], plan["bundle"]) == ("DATA", None)
    # when a rate change from March is posted on the plan
    added = client.post(
        f"/api/price-plans/{plan['id']}/rates",
        {"effective_from": "2026-03-01", "price_per_period": "36.00", "period_days": 30},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert [(r["effective_from"], r["price_per_period"]) for r in added.json()["rates"]] == [
        ("2026-01-01", "30.00"),
        ("2026-03-01", "36.00"),
    ]
    assert PricePlanRate.objects.filter(plan_id=plan["id"]).count() == 2
    # the list filters by product code
    assert [p["code"] for p in client.get("/api/price-plans?product=DATA").json()["results"]] == [
        "DATA-STD"
    ]
    assert client.get("/api/price-plans?product=NONE").json()["results"] == []


def test_price_plan_refusals(world):
    b.product(world.tenant, "DATA")
    client = world.client(OWNER)
    no_product = client.post(
        "/api/price-plans",
        {
            "code": "P1",
            "product": "NOPE",
            "rates": [
                {"effective_from": "2026-01-01", "price_per_period": "1.00", "period_days": 30}
            ],
        },
        format="json",
    )
    assert no_product.status_code == 400
    assert _error(no_product).startswith("product:")
    bad_days = client.post(
        "/api/price-plans",
        {
            "code": "P1",
            "product": "DATA",
            "rates": [
                {"effective_from": "2026-01-01", "price_per_period": "1.00", "period_days": 0}
            ],
        },
        format="json",
    )
    assert bad_days.status_code == 400
    assert _error(bad_days).startswith("rates[0].period_days:")
    assert (
        client.post(
            "/api/price-plans/424242/rates",
            {"effective_from": "2026-01-01", "price_per_period": "1.00", "period_days": 30},
            format="json",
        ).status_code
        == 404
    )


# --- discounts ---------------------------------------------------------------------------------


def test_discounts_automatic_and_ad_hoc_filtered_and_ended(world):
    acc = b.account(world.tenant, "PP-DSC")
    svc = b.service(world.tenant, acc)
    client = world.client(OWNER)
    auto = client.post(
        "/api/discounts",
        {
            "code": "SPRING",
            "name": "Spring promotion",
            "kind": "PERCENT",
            "value": "10",
            "effective_from": "2026-03-01",
            "effective_to": "2026-06-01",
            "product": svc.product.code,
        },
        format="json",
    )
    assert auto.status_code == 201, auto.content
    assert (auto.json()["automatic"], auto.json()["value"]) == (True, "10.00")
    adhoc = client.post(
        "/api/discounts",
        {
            "code": "GOODWILL",
            "kind": "FIXED",
            "value": "5.00",
            "effective_from": "2026-03-01",
            "service": svc.external_id,
        },
        format="json",
    )
    assert adhoc.status_code == 201, adhoc.content
    assert (adhoc.json()["service"], adhoc.json()["service_external_id"]) == (
        svc.pk,
        svc.external_id,
    )

    def codes(query: str) -> list[str]:
        return [d["code"] for d in client.get(f"/api/discounts{query}").json()["results"]]

    assert codes("") == ["SPRING", "GOODWILL"]
    assert codes("?automatic=true") == ["SPRING"]
    assert codes("?automatic=false") == ["GOODWILL"]
    assert codes(f"?service={svc.pk}") == ["GOODWILL"]
    assert codes(f"?product={svc.product.code}") == ["SPRING"]
    assert client.get("/api/discounts?service=abc").status_code == 400
    # when the ad hoc one is ended with a reason
    ended = client.patch(
        f"/api/discounts/{adhoc.json()['id']}",
        {"effective_to": "2026-04-15", "reason": "complaint settled"},
        format="json",
    )
    assert ended.status_code == 200, ended.content
    assert ended.json()["effective_to"] == "2026-04-15"
    assert Discount.objects.get(code="GOODWILL").effective_to == date(2026, 4, 15)
    assert AuditEntry.objects.filter(tenant=world.tenant, action="Discount.end").count() == 1


def test_discount_refusals_name_the_field(world):
    b.product(world.tenant, "DATA")
    client = world.client(OWNER)
    base = {"code": "D1", "kind": "PERCENT", "effective_from": "2026-03-01", "product": "DATA"}
    over = client.post("/api/discounts", base | {"value": "101"}, format="json")
    assert over.status_code == 400
    assert _error(over).startswith("value:")
    backwards = client.post(
        "/api/discounts", base | {"value": "10", "effective_to": "2026-02-01"}, format="json"
    )
    assert backwards.status_code == 400
    assert _error(backwards).startswith("effective_to:")
    assert Discount.objects.filter(tenant=world.tenant).count() == 0
    # ending without a reason / before the start
    d = client.post("/api/discounts", base | {"value": "10"}, format="json").json()
    no_reason = client.patch(
        f"/api/discounts/{d['id']}", {"effective_to": "2026-04-01"}, format="json"
    )
    assert no_reason.status_code == 400
    assert _error(no_reason).startswith("reason:")
    early = client.patch(
        f"/api/discounts/{d['id']}", {"effective_to": "2026-01-01", "reason": "x"}, format="json"
    )
    assert early.status_code == 400
    assert _error(early).startswith("effective_to:")
    assert Discount.objects.get(pk=d["id"]).effective_to is None


# --- bundles -----------------------------------------------------------------------------------


def test_bundle_put_by_code_then_read_by_id_and_listed(world):
    for code in ("FAMILY", "DATA", "VOICE"):
        b.product(world.tenant, code)
    client = world.client(OWNER)
    assert client.get("/api/bundles").json()["results"] == []
    put = client.put(
        "/api/bundles/FAMILY",
        {"bundle_pricing": "BOTH", "components": ["DATA", "VOICE"]},
        format="json",
    )
    assert put.status_code == 200, put.content
    assert (put.json()["bundle_pricing"], put.json()["components"]) == ("BOTH", ["DATA", "VOICE"])
    family = Product.objects.get(tenant=world.tenant, code="FAMILY")
    by_id = client.get(f"/api/bundles/{family.pk}").json()
    assert by_id["code"] == "FAMILY"
    assert [p["code"] for p in client.get("/api/bundles").json()["results"]] == ["FAMILY"]
    # refusals: an unknown component, the bundle itself, an unknown product
    unknown = client.put(
        "/api/bundles/FAMILY", {"bundle_pricing": "BOTH", "components": ["NOPE"]}, format="json"
    )
    assert unknown.status_code == 400
    assert _error(unknown).startswith("components[0]:") and "NOPE" in _error(unknown)
    itself = client.put(
        "/api/bundles/FAMILY", {"bundle_pricing": "BOTH", "components": ["FAMILY"]}, format="json"
    )
    assert itself.status_code == 400
    assert _error(itself).startswith("components[0]:")
    assert client.get("/api/bundles/FAMILY").json()["components"] == by_id["components"]
    assert client.get("/api/bundles/NOPE").status_code == 404
    bad_choice = client.put(
        "/api/bundles/FAMILY", {"bundle_pricing": "SOME", "components": []}, format="json"
    )
    assert bad_choice.status_code == 400
    assert _error(bad_choice).startswith("bundle_pricing:")
    # and what was set is kept
    assert client.get("/api/bundles/FAMILY").json()["components"] == ["DATA", "VOICE"]


# --- wallet definitions ------------------------------------------------------------------------


def test_wallet_definitions_one_active_and_patch(world):
    client = world.client(OWNER)
    first = client.post(
        "/api/wallet-definitions",
        {"code": "ALL", "debit_causes": ["PREPAID_BILLING", "USAGE", "MANUAL"], "active": True},
        format="json",
    )
    assert first.status_code == 201, first.content
    second = client.post(
        "/api/wallet-definitions",
        {"code": "USAGE-ONLY", "name": "Usage only", "debit_causes": ["USAGE"], "active": True},
        format="json",
    )
    assert second.status_code == 201, second.content
    # then only the second is active
    listed = client.get("/api/wallet-definitions").json()["results"]
    assert [(d["code"], d["active"]) for d in listed] == [("ALL", False), ("USAGE-ONLY", True)]
    # when the first is re-activated by PATCH, the second is deactivated
    patched = client.patch(
        f"/api/wallet-definitions/{first.json()['id']}", {"active": True}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["debit_causes"] == ["PREPAID_BILLING", "USAGE", "MANUAL"]
    assert WalletDefinition.objects.get(tenant=world.tenant, active=True).code == "ALL"
    # PATCH changes only what is given
    renamed = client.patch(
        f"/api/wallet-definitions/{second.json()['id']}", {"name": "Usage"}, format="json"
    ).json()
    assert (renamed["name"], renamed["debit_causes"], renamed["active"]) == (
        "Usage",
        ["USAGE"],
        False,
    )
    bad = client.patch(
        f"/api/wallet-definitions/{second.json()['id']}",
        {"debit_causes": ["TOP_UP"]},
        format="json",
    )
    assert bad.status_code == 400
    assert _error(bad).startswith("debit_causes")
    assert client.get("/api/wallet-definitions/987654").status_code == 404


# --- run items ---------------------------------------------------------------------------------


def test_run_items_show_the_breakdown(world):
    acc = b.account(world.tenant, "PP-ITEM")
    svc = b.service(world.tenant, acc)
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 2, 1))
    comp = b.product(world.tenant, "VOICE")
    RatedItem.objects.create(
        tenant=world.tenant,
        run=run,
        account=acc,
        service=svc,
        component=comp,
        kind=RatedItem.Kind.SERVICE,
        start=date(2026, 1, 1),
        end=date(2026, 1, 16),
        active_days=15,
        rate_from=date(2025, 12, 1),
        net=Decimal("15.00"),
        discount=Decimal("1.50"),
        discounts=[
            {"code": "SPRING", "name": "Spring", "kind": "PERCENT", "value": "10", "amount": "1.50"}
        ],
        vat_rate=Decimal("20"),
        vat=Decimal("2.70"),
        gross=Decimal("16.20"),
        amount=Decimal("16.20"),
        sign=RatedItem.Sign.POSITIVE,
        debited=Decimal("16.20"),
        reasons=["ends on a VAT rate change"],
        identity="matrix-item",
    )
    item = world.client(VIEWER).get(f"/api/prepaid-runs/{run.pk}/items").json()["results"][0]
    assert item["component"] == "VOICE"
    assert item["rate_from"] == "2025-12-01"
    assert (item["net"], item["discount"], item["vat_rate"], item["vat"], item["gross"]) == (
        "15.00",
        "1.50",
        "20.0000",
        "2.70",
        "16.20",
    )
    assert item["discounts"] == [
        {"code": "SPRING", "name": "Spring", "kind": "PERCENT", "value": "10.00", "amount": "1.50"}
    ]
    assert item["reasons"] == ["ends on a VAT rate change"]
