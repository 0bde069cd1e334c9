"""Prepaid runs API: trigger (202), detail with progress and counters, errors, rated items."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun, PrepaidRunError
from wallets.services.runs import prepaid_run_execute

OWNER, MANAGER, OPS, VIEWER = (
    S.Role.OWNER,
    S.Role.BILLING_MANAGER,
    S.Role.OPERATIONS,
    S.Role.VIEWER,
)


def _scene(world):
    acc = b.account(world.tenant, "PP-RUN", classification="RETAIL")
    w = b.wallet(world.tenant, acc, balance="100.00")
    svc = b.service(
        world.tenant,
        acc,
        price="30.00",
        period_days=30,
        rating="POST",
        periods=[("ACTIVE", date(2026, 1, 1), None)],
    )
    b.usage(world.tenant, svc, "2.50", on=date(2026, 1, 15))
    return acc, w, svc


def test_trigger_answers_202_with_the_queued_run_and_its_filters(world):
    _scene(world)
    body = {
        "as_of": "2026-01-31",
        "accounts": ["PP-RUN"],
        "classifications": ["RETAIL"],
        "estimation": "ALL",
        "recurring_interval_days": 30,
    }
    response = world.client(MANAGER).post(
        "/api/prepaid-runs", body, format="json", HTTP_IDEMPOTENCY_KEY="run-1"
    )

    assert response.status_code == 202
    run = response.json()
    assert (run["status"], run["as_of"], run["percent"]) == ("DRAFT", "2026-01-31", None)
    assert (run["accounts"], run["subscriptions"], run["classifications"]) == (
        ["PP-RUN"],
        [],
        ["RETAIL"],
    )
    assert (run["estimation"], run["recurring_interval_days"]) == ("ALL", 30)
    assert run["triggered_by"] == world.users[MANAGER].username
    assert run["successor"] is None
    again = world.client(MANAGER).post(
        "/api/prepaid-runs", body, format="json", HTTP_IDEMPOTENCY_KEY="run-1"
    )
    assert again.json()["id"] == run["id"]
    assert PrepaidBillingRun.objects.filter(tenant=world.tenant).count() == 1


def test_run_detail_items_and_ledger_after_the_run(world):
    acc, w, svc = _scene(world)
    client = world.client(OWNER)
    run_id = client.post(
        "/api/prepaid-runs", {"as_of": "2026-01-31", "estimation": "ALL"}, format="json"
    ).json()["id"]
    prepaid_run_execute(run_id=run_id)

    run = client.get(f"/api/prepaid-runs/{run_id}").json()
    assert (run["status"], run["percent"]) == ("COMPLETED", 100)
    assert (run["accounts_total"], run["accounts_done"]) == (1, 1)
    assert (run["rated_count"], run["debited_total"], run["errors_count"]) == (2, "32.50", 0)
    assert run["wallets_estimated"] == 1

    items = client.get(f"/api/prepaid-runs/{run_id}/items").json()["results"]
    got = sorted(
        (i["kind"], i["start"], i["end"], i["amount"], i["debited"], i["state"]) for i in items
    )
    assert got == [
        ("SERVICE", "2026-01-01", "2026-01-31", "30.00", "30.00", "BILLED"),
        ("USAGE", "2026-01-15", "2026-01-16", "2.50", "2.50", "BILLED"),
    ]
    assert sum(Decimal(i["debited"]) for i in items) == Decimal("32.50")
    only_service = client.get(f"/api/prepaid-runs/{run_id}/items", {"service": svc.pk}).json()
    assert len(only_service["results"]) == 2
    assert (
        client.get(f"/api/prepaid-runs/{run_id}/items", {"service": 999999}).json()["results"] == []
    )

    wallet = client.get(f"/api/wallets/{w.pk}").json()
    assert (wallet["balance"], wallet["available"]) == ("67.50", "67.50")
    assert wallet["daily_burn"] == "1.0000"
    assert wallet["estimated_consumption_days"] == 67
    assert wallet["estimated_consumption_date"] == "2026-04-08"
    ledger = client.get(f"/api/wallets/{w.pk}/transactions").json()["results"]
    debits = [(t["kind"], t["amount"], t["run"]) for t in ledger if t["cause"] != "OPENING_BALANCE"]
    assert sorted(debits) == [("DEBIT", "-2.50", run_id), ("DEBIT", "-30.00", run_id)]

    service = client.get(f"/api/services/{svc.pk}").json()
    assert (service["prepayment_state"], service["rated_up_to"]) == ("VALID", "2026-01-31")


def test_run_errors_are_listed_with_service_and_account(world):
    acc, _, svc = _scene(world)
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 1, 31))
    PrepaidRunError.objects.create(
        run=run, account=acc, service=svc, code="rating_failed", message="period_days: bad"
    )
    PrepaidRunError.objects.create(run=run, account=acc, code="wallet_locked", message="busy")

    body = world.client(VIEWER).get(f"/api/prepaid-runs/{run.pk}/errors").json()

    assert [(e["code"], e["account"], e["service"]) for e in body["results"]] == [
        ("rating_failed", "PP-RUN", svc.external_id),
        ("wallet_locked", "PP-RUN", None),
    ]


def test_run_list_filters_by_status_newest_first(world):
    first = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 1, 1))
    second = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 2, 1))
    PrepaidBillingRun.objects.create(tenant=world.other_tenant, as_of=date(2026, 3, 1))
    client = world.client(VIEWER)

    runs = client.get("/api/prepaid-runs").json()["results"]
    assert [r["id"] for r in runs] == [second.pk, first.pk]
    assert client.get("/api/prepaid-runs", {"status": "COMPLETED"}).json()["results"] == []
    bad = client.get("/api/prepaid-runs", {"status": "DONE"})
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["details"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "as_of"),
        ({"as_of": "2026-02-30"}, "as_of"),
        ({"as_of": "31/01/2026"}, "as_of"),
        ({"as_of": "2026-01-31", "estimation": "sometimes"}, "estimation"),
        ({"as_of": "2026-01-31", "recurring_interval_days": 0}, "recurring_interval_days"),
        ({"as_of": "2026-01-31", "recurring_interval_days": 367}, "recurring_interval_days"),
        ({"as_of": "2026-01-31", "accounts": "PP-RUN"}, "accounts"),
        ({"as_of": "2026-01-31", "accounts": ["NOPE-1"]}, "accounts"),
        ({"as_of": "2026-01-31", "subscriptions": ["NOPE-SUB"]}, "subscriptions"),
        ({"as_of": "2026-01-31", "mode": "ALL"}, "mode"),
    ],
)
def test_trigger_refuses_bad_input_naming_the_field(world, body, field):
    _scene(world)
    response = world.client(OWNER).post("/api/prepaid-runs", body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["details"] or error["message"].startswith(f"{field}")
    assert not PrepaidBillingRun.objects.exists()


def test_unknown_account_is_named_in_the_refusal(world):
    _scene(world)
    response = world.client(OWNER).post(
        "/api/prepaid-runs",
        {"as_of": "2026-01-31", "accounts": ["PP-RUN", "NOPE-7"]},
        format="json",
    )
    assert response.status_code == 400
    assert "NOPE-7" in response.json()["error"]["message"]


@pytest.mark.parametrize("role", [OPS, VIEWER])
def test_trigger_needs_the_run_scope(world, role):
    response = world.client(role).post("/api/prepaid-runs", {"as_of": "2026-01-31"}, format="json")
    assert response.status_code == 403
    assert not PrepaidBillingRun.objects.exists()


def test_runs_of_another_tenant_are_not_found(world):
    other = PrepaidBillingRun.objects.create(tenant=world.other_tenant, as_of=date(2026, 1, 1))
    client = world.client(OWNER)
    for suffix in ("", "/errors", "/items"):
        assert client.get(f"/api/prepaid-runs/{other.pk}{suffix}").status_code == 404
