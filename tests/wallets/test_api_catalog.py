"""Subscriptions, services and usage API (partner writes): create, read, change, refuse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from core.models import AuditEntry
from tests.wallets import builders as b
from wallets.models import ServiceStatePeriod, Subscription, SubscriptionService, UsageRecord

OWNER, MANAGER, OPS, VIEWER = (
    S.Role.OWNER,
    S.Role.BILLING_MANAGER,
    S.Role.OPERATIONS,
    S.Role.VIEWER,
)


def _service_body(**changes) -> dict:
    return {
        "subscription_external_id": "SUB-API-1",
        "external_id": "SVC-API-1",
        "product": "DATA",
        "price_per_period": "29.90",
        "period_days": 30,
        "rating": "PRE",
        "rated_up_to": None,
        "periods": [
            {"state": "ACTIVE", "start": "2026-01-01", "end": "2026-02-01"},
            {"state": "SUSPENDED", "start": "2026-02-01", "end": None},
        ],
    } | changes


def test_subscription_create_list_and_detail(world):
    b.account(world.tenant, "PP-CAT")
    client = world.client(MANAGER)

    created = client.post(
        "/api/subscriptions",
        {"account": "PP-CAT", "external_id": "SUB-API-1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="sub-1",
    )
    assert created.status_code == 201
    sub = created.json()
    assert (sub["account"], sub["external_id"]) == ("PP-CAT", "SUB-API-1")
    assert AuditEntry.objects.filter(action="Subscription.create").count() == 1

    listed = client.get("/api/subscriptions", {"account": "PP-CAT"}).json()["results"]
    assert [s["external_id"] for s in listed] == ["SUB-API-1"]
    assert client.get("/api/subscriptions", {"account": "PP-NONE"}).json()["results"] == []

    client.post("/api/services", _service_body(), format="json")
    detail = client.get(f"/api/subscriptions/{sub['id']}").json()
    assert [(s["external_id"], s["product"], s["rating"]) for s in detail["services"]] == [
        ("SVC-API-1", "DATA", "PRE")
    ]


def test_subscription_create_refusals_name_the_field(world):
    b.account(world.tenant, "PP-CAT")
    client = world.client(OWNER)
    Subscription.objects.create(
        tenant=world.tenant, account=b.account(world.tenant, "PP-CAT"), external_id="SUB-TAKEN"
    )

    unknown = client.post(
        "/api/subscriptions", {"account": "PP-NOPE", "external_id": "SUB-X"}, format="json"
    )
    assert unknown.status_code in (400, 404)
    assert unknown.json()["error"]["message"].startswith("account")
    taken = client.post(
        "/api/subscriptions", {"account": "PP-CAT", "external_id": "SUB-TAKEN"}, format="json"
    )
    assert taken.status_code == 409
    assert taken.json()["error"]["message"].startswith("external_id")
    missing = client.post("/api/subscriptions", {"account": "PP-CAT"}, format="json")
    assert missing.status_code == 400
    assert "external_id" in missing.json()["error"]["details"]
    assert Subscription.objects.count() == 1


def test_service_create_shows_price_periods_and_state(world):
    acc = b.account(world.tenant, "PP-CAT")
    Subscription.objects.create(tenant=world.tenant, account=acc, external_id="SUB-API-1")

    response = world.client(OWNER).post("/api/services", _service_body(), format="json")

    assert response.status_code == 201
    svc = response.json()
    assert (svc["account"], svc["subscription"], svc["external_id"]) == (
        "PP-CAT",
        "SUB-API-1",
        "SVC-API-1",
    )
    assert (svc["price_per_period"], svc["period_days"], svc["rating"]) == ("29.90", 30, "PRE")
    assert (svc["rated_up_to"], svc["prepayment_state"]) == (None, "VALID")
    assert [(p["state"], p["start"], p["end"]) for p in svc["periods"]] == [
        ("ACTIVE", "2026-01-01", "2026-02-01"),
        ("SUSPENDED", "2026-02-01", None),
    ]
    stored = SubscriptionService.objects.get(external_id="SVC-API-1")
    assert stored.price_per_period == Decimal("29.90")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price_per_period": 29.9}, "price_per_period"),
        ({"price_per_period": "-1.00"}, "price_per_period"),
        ({"period_days": 0}, "period_days"),
        ({"rating": "LATER"}, "rating"),
        ({"rated_up_to": "2026-13-01"}, "rated_up_to"),
        ({"periods": [{"state": "ACTIVE", "start": "2026-02-01", "end": "2026-01-01"}]}, "periods"),
        (
            {
                "periods": [
                    {"state": "ACTIVE", "start": "2026-01-01", "end": None},
                    {"state": "SUSPENDED", "start": "2026-03-01", "end": None},
                ]
            },
            "periods",
        ),
        ({"periods": [{"state": "ASLEEP", "start": "2026-01-01"}]}, "periods"),
        ({"periods": [{"state": "ACTIVE", "start": "2026-01-01", "stop": None}]}, "periods"),
        ({"subscription_external_id": "SUB-NOPE"}, "subscription_external_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_service_create_refuses_bad_input_naming_the_field(world, changes, field):
    acc = b.account(world.tenant, "PP-CAT")
    Subscription.objects.create(tenant=world.tenant, account=acc, external_id="SUB-API-1")

    response = world.client(OWNER).post("/api/services", _service_body(**changes), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["details"] or error["message"].startswith(field)
    assert not SubscriptionService.objects.exists()


def test_service_patch_changes_price_and_keeps_rated_up_to(world):
    acc = b.account(world.tenant, "PP-CAT")
    svc = b.service(world.tenant, acc, price="30.00", rated_up_to=date(2026, 2, 1))
    client = world.client(OWNER)

    response = client.patch(
        f"/api/services/{svc.pk}", {"price_per_period": "45.00", "period_days": 31}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["price_per_period"], body["period_days"]) == ("45.00", 31)
    assert body["rated_up_to"] == "2026-02-01"
    assert client.get(f"/api/services/{svc.pk}").json()["price_per_period"] == "45.00"
    bad = client.patch(f"/api/services/{svc.pk}", {"period_days": "thirty"}, format="json")
    assert bad.status_code == 400
    assert "period_days" in bad.json()["error"]["details"]


def test_service_period_add_closes_the_open_period(world):
    acc = b.account(world.tenant, "PP-CAT")
    svc = b.service(world.tenant, acc, periods=[("ACTIVE", date(2026, 1, 1), None)])
    client = world.client(OWNER)

    response = client.post(
        f"/api/services/{svc.pk}/periods",
        {"state": "SUSPENDED", "start": "2026-03-01", "end": None},
        format="json",
    )

    assert response.status_code == 201
    assert [(p["state"], p["start"], p["end"]) for p in response.json()["periods"]] == [
        ("ACTIVE", "2026-01-01", "2026-03-01"),
        ("SUSPENDED", "2026-03-01", None),
    ]
    overlap = client.post(
        f"/api/services/{svc.pk}/periods",
        {"state": "CANCELLED", "start": "2026-02-01", "end": "2026-02-15"},
        format="json",
    )
    assert overlap.status_code == 409
    assert overlap.json()["error"]["message"].startswith("start")
    assert ServiceStatePeriod.objects.filter(service=svc).count() == 2


def test_service_list_filters_by_account_and_subscription(world):
    one, two = b.account(world.tenant, "PP-ONE"), b.account(world.tenant, "PP-TWO")
    s1 = b.service(world.tenant, one)
    s2 = b.service(world.tenant, two)
    b.service(world.other_tenant, b.account(world.other_tenant, "PP-B"))
    client = world.client(VIEWER)

    everything = client.get("/api/services").json()["results"]
    assert [s["id"] for s in everything] == [s1.pk, s2.pk]
    by_account = client.get("/api/services", {"account_id": two.pk}).json()["results"]
    assert [s["external_id"] for s in by_account] == [s2.external_id]
    by_sub = client.get("/api/services", {"subscription_id": s1.subscription_id}).json()
    assert [s["id"] for s in by_sub["results"]] == [s1.pk]
    bad = client.get("/api/services", {"account_id": "x"})
    assert bad.status_code == 400
    assert "account_id" in bad.json()["error"]["details"]


def test_usage_create_list_detail_and_patch(world):
    acc = b.account(world.tenant, "PP-CAT")
    svc = b.service(world.tenant, acc)
    client = world.client(OWNER)

    created = client.post(
        "/api/usage",
        {
            "service": svc.pk,
            "amount": "7.25",
            "directive": "TO_BE_CREDITED",
            "billing_effective_date": "2026-01-20",
            "external_id": "CDR-1",
        },
        format="json",
    )
    assert created.status_code == 201
    record = created.json()
    assert (record["amount"], record["directive"], record["state"]) == (
        "7.25",
        "TO_BE_CREDITED",
        "POSTED",
    )
    assert (record["service"], record["billing_effective_date"]) == (svc.pk, "2026-01-20")

    listed = client.get("/api/usage", {"service": svc.pk, "state": "POSTED"}).json()["results"]
    assert [u["external_id"] for u in listed] == ["CDR-1"]
    assert client.get("/api/usage", {"state": "RATED"}).json()["results"] == []

    patched = client.patch(
        f"/api/usage/{record['id']}", {"directive": "CANCELLED", "amount": "7.00"}, format="json"
    )
    assert patched.status_code == 200
    assert (patched.json()["directive"], patched.json()["amount"]) == ("CANCELLED", "7.00")
    assert client.get(f"/api/usage/{record['id']}").json()["directive"] == "CANCELLED"


def test_usage_patch_refused_once_rated(world):
    svc = b.service(world.tenant, b.account(world.tenant, "PP-CAT"))
    rated = b.usage(world.tenant, svc, "3.00")
    UsageRecord.objects.filter(pk=rated.pk).update(state=UsageRecord.State.RATED)

    response = world.client(OWNER).patch(
        f"/api/usage/{rated.pk}", {"amount": "1.00"}, format="json"
    )

    assert response.status_code == 409
    rated.refresh_from_db()
    assert rated.amount == Decimal("3.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0.00"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"directive": "BILL_LATER"}, "directive"),
        ({"billing_effective_date": "2026-1-5"}, "billing_effective_date"),
        ({"service": 0}, "service"),
    ],
)
def test_usage_create_refuses_bad_input_naming_the_field(world, body, field):
    svc = b.service(world.tenant, b.account(world.tenant, "PP-CAT"))
    good = {
        "service": svc.pk,
        "amount": "1.00",
        "directive": "TO_BE_BILLED",
        "billing_effective_date": "2026-01-05",
    }
    response = world.client(OWNER).post("/api/usage", good | body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["details"] or error["message"].startswith(field)
    assert not UsageRecord.objects.exists()


def test_usage_on_another_tenants_service_is_not_found(world):
    other = b.service(world.other_tenant, b.account(world.other_tenant, "PP-B"))
    response = world.client(OWNER).post(
        "/api/usage",
        {
            "service": other.pk,
            "amount": "1.00",
            "directive": "TO_BE_BILLED",
            "billing_effective_date": "2026-01-05",
        },
        format="json",
    )
    assert response.status_code == 404
    assert not UsageRecord.objects.exists()


def test_catalog_objects_of_another_tenant_are_not_found(world):
    svc = b.service(world.other_tenant, b.account(world.other_tenant, "PP-B"))
    record = b.usage(world.other_tenant, svc, "1.00")
    client = world.client(OWNER)
    assert client.get(f"/api/subscriptions/{svc.subscription_id}").status_code == 404
    assert client.get(f"/api/services/{svc.pk}").status_code == 404
    assert client.get(f"/api/usage/{record.pk}").status_code == 404
    patch = client.patch(f"/api/services/{svc.pk}", {"price_per_period": "1.00"}, format="json")
    assert patch.status_code == 404
    svc.refresh_from_db()
    assert svc.price_per_period == Decimal("30.00")


@pytest.mark.parametrize("role", [OPS, VIEWER])
def test_partner_writes_need_the_run_scope(world, role):
    acc = b.account(world.tenant, "PP-CAT")
    svc = b.service(world.tenant, acc)
    client = world.client(role)
    assert (
        client.post(
            "/api/subscriptions", {"account": "PP-CAT", "external_id": "S-9"}, format="json"
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/services/{svc.pk}", {"price_per_period": "1.00"}, format="json"
        ).status_code
        == 403
    )
    svc.refresh_from_db()
    assert svc.price_per_period == Decimal("30.00")


def test_subscription_patch_moves_it_to_another_account(world):
    old = b.account(world.tenant, "PP-OLD")
    old_wallet = b.wallet(world.tenant, old)
    new_wallet = b.wallet(world.tenant, b.account(world.tenant, "PP-NEW"))
    svc = b.service(world.tenant, old)
    client = world.client(MANAGER)

    moved = client.patch(
        f"/api/subscriptions/{svc.subscription_id}", {"account": "PP-NEW"}, format="json"
    )

    assert moved.status_code == 200, moved.json()
    body = moved.json()
    assert (body["account"], [s["id"] for s in body["services"]]) == ("PP-NEW", [svc.pk])
    assert client.get(f"/api/services/{svc.pk}").json()["account"] == "PP-NEW"
    listed = client.get("/api/subscriptions", {"account": "PP-NEW"}).json()["results"]
    assert [s["id"] for s in listed] == [svc.subscription_id]
    assert AuditEntry.objects.filter(action="Subscription.update").count() == 1
    for w in (old_wallet, new_wallet):
        w.refresh_from_db()
        assert w.changed_at is not None


def test_subscription_patch_refusals(world):
    acc = b.account(world.tenant, "PP-OLD")
    b.wallet(world.tenant, acc)
    b.account(world.tenant, "PP-NO-WALLET")
    svc = b.service(world.tenant, acc)
    url = f"/api/subscriptions/{svc.subscription_id}"
    client = world.client(OWNER)

    no_wallet = client.patch(url, {"account": "PP-NO-WALLET"}, format="json")
    assert no_wallet.status_code == 409
    assert no_wallet.json()["error"]["message"].startswith("account_number: account 'PP-NO-")
    unknown = client.patch(url, {"account": "PP-NOPE"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].startswith("account_number: no account")
    extra = client.patch(url, {"account": "PP-OLD", "external_id": "X"}, format="json")
    assert extra.status_code == 400
    assert "external_id" in extra.json()["error"]["details"]
    for role in (OPS, VIEWER):
        denied = world.client(role).patch(url, {"account": "PP-NO-WALLET"}, format="json")
        assert denied.status_code == 403
    other = b.service(world.other_tenant, b.account(world.other_tenant, "PP-B"))
    foreign = client.patch(
        f"/api/subscriptions/{other.subscription_id}", {"account": "PP-OLD"}, format="json"
    )
    assert foreign.status_code == 404
    assert Subscription.objects.get(pk=svc.subscription_id).account == acc
    assert not AuditEntry.objects.filter(action="Subscription.update").exists()


@pytest.mark.parametrize(("days", "status"), [(3660, 201), (3661, 400)])
def test_service_period_days_limit_is_the_catalog_limit(world, days, status):
    acc = b.account(world.tenant, "PP-CAT")
    Subscription.objects.create(tenant=world.tenant, account=acc, external_id="SUB-API-1")
    created = world.client(OWNER).post(
        "/api/services", _service_body(period_days=days), format="json"
    )
    assert created.status_code == status, created.json()
    if status == 400:  # refused by the schema bound, which is the catalog's PERIOD_DAYS_MAX
        assert "3660" in str(created.json()["error"]["details"]["period_days"])
    else:
        assert SubscriptionService.objects.get(external_id="SVC-API-1").period_days == 3660
