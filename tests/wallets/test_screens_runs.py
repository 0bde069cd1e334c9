"""The prepaid run screens: the trigger form, the live list, a run's page with its live progress,
counters, errors, rated items and the successor of a recurring run."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import queue
from core import scopes as S
from tests.wallets import builders as b
from wallets.models import PrepaidBillingRun, PrepaidRunError
from wallets.services import runs

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    return response.content.decode()


@pytest.fixture
def queued(monkeypatch):
    """What the trigger queues (nothing runs: the run stays a draft until a test executes it)."""
    calls: list[tuple] = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: calls.append((func, args)))
    return calls


def test_trigger_form_creates_a_run_and_lands_on_its_live_page(
    world, queued, django_capture_on_commit_callbacks
):
    acc = b.account(world.tenant, "PP-T1")
    b.wallet(world.tenant, acc, balance="50.00")
    client = world.client(S.Role.BILLING_MANAGER)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/wallets/runs/",
            {
                "as_of": "2026-11-30",
                "accounts": "PP-T1",
                "estimation": "CHANGED",
                "recurring_interval_days": "7",
            },
        )

    run = PrepaidBillingRun.objects.get(tenant=world.tenant)
    assert response.status_code == 302 and response["Location"] == f"/wallets/runs/{run.pk}/"
    assert (run.as_of, run.accounts, run.estimation, run.recurring_interval_days) == (
        date(2026, 11, 30),
        ["PP-T1"],
        "CHANGED",
        7,
    )
    assert run.triggered_by == world.users[S.Role.BILLING_MANAGER]
    assert queued == [("wallets.tasks.prepaid_run_start", (run.pk,))]
    html = _body(client.get(response["Location"]))
    assert f"Prepaid run #{run.pk} queued as of 2026-11-30." in html
    assert 'id="run-status" data-status="DRAFT"' in html
    assert 'hx-trigger="every 1s"' in html and "waiting for a worker" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"as_of": "30/11/2026"}, "as_of", "expected YYYY-MM-DD"),
        ({"as_of": "2026-11-30", "accounts": "PP-NOPE"}, "accounts", "PP-NOPE"),
        (
            {"as_of": "2026-11-30", "recurring_interval_days": "weekly"},
            "recurring_interval_days",
            "expected a whole number of days",
        ),
        (  # a superscript two is a digit to str.isdigit, not to int()
            {"as_of": "2026-11-30", "recurring_interval_days": "\u00b2"},
            "recurring_interval_days",
            "expected a whole number of days",
        ),
        (
            {"as_of": "2026-11-30", "recurring_interval_days": "7" * 5000},
            "recurring_interval_days",
            "expected a whole number of days",
        ),
        (
            {"as_of": "2026-11-30", "recurring_interval_days": "400"},
            "recurring_interval_days",
            "expected a whole number from 1 to 366",
        ),
    ],
)
def test_trigger_form_refusal_is_said_beside_the_field_and_no_run_is_made(
    world, queued, data, field, message
):
    response = world.client(S.Role.OWNER).post("/wallets/runs/", data)

    assert response.status_code == 400
    html = _body(response)
    assert f'id="error-{field}">' in html and message in html
    assert "The run was not triggered; see below." in html
    assert not PrepaidBillingRun.objects.filter(tenant=world.tenant).exists()
    assert queued == []


def test_trigger_form_is_replaced_by_a_reason_for_a_role_without_the_scope(world):
    html = _body(world.client(S.Role.OPERATIONS).get("/wallets/runs/"))

    assert 'id="trigger-form"' not in html
    assert "your role does not hold “Trigger prepaid billing runs”" in html


def test_runs_list_polls_while_a_run_is_active_and_stops_when_none_is(world):
    run = PrepaidBillingRun.objects.create(tenant=world.tenant, as_of=date(2026, 11, 30))
    client = world.client(S.Role.VIEWER)

    active = _body(client.get("/wallets/runs/rows/"))
    runs.prepaid_run_execute(run_id=run.pk)
    done = _body(client.get("/wallets/runs/rows/"))

    assert f'id="run-{run.pk}" data-status="DRAFT"' in active and 'hx-trigger="every 2s"' in active
    assert f'id="run-{run.pk}" data-status="COMPLETED"' in done and "hx-trigger" not in done


def test_progress_fragment_polls_while_active_and_reloads_the_page_once_finished(world):
    acc = b.account(world.tenant, "PP-P1")
    b.wallet(world.tenant, acc, balance="50.00")
    run = runs.prepaid_run_trigger(
        actor=world.actor(), as_of=date(2026, 11, 30), accounts=["PP-P1"], enqueue=False
    )
    client = world.client(S.Role.VIEWER)
    url = f"/wallets/runs/{run.pk}/progress/?was=active"

    waiting = client.get(url, HTTP_HX_REQUEST="true")
    runs.prepaid_run_start(run_id=run.pk)
    started = client.get(url, HTTP_HX_REQUEST="true")
    runs.prepaid_run_execute(run_id=run.pk)
    finished = client.get(url, HTTP_HX_REQUEST="true")

    assert "waiting for a worker" in _body(waiting) and 'hx-trigger="every 1s"' in _body(waiting)
    assert "0 of 1 accounts" in _body(started) and "HX-Refresh" not in started.headers
    assert 'data-status="COMPLETED"' in _body(finished)
    assert "1 of 1 accounts" in _body(finished) and "hx-trigger" not in _body(finished)
    assert finished["HX-Refresh"] == "true"


def test_run_page_shows_counters_debited_total_errors_items_and_the_successor(world):
    today = timezone.localdate()
    acc = b.account(world.tenant, "PP-D1")
    w = b.wallet(world.tenant, acc, balance="100.00")
    svc = b.service(
        world.tenant,
        acc,
        price="30.00",
        period_days=30,
        rating="POST",
        rated_up_to=today - timedelta(days=10),
        periods=[("ACTIVE", today - timedelta(days=60), None)],
    )
    poor = b.account(world.tenant, "PP-D2")
    b.wallet(world.tenant, poor, balance="5.00", min_balance="5.00")
    blocked = b.service(
        world.tenant,
        poor,
        price="30.00",
        period_days=30,
        rating="POST",
        rated_up_to=today - timedelta(days=10),
        periods=[("ACTIVE", today - timedelta(days=60), None)],
    )
    run = runs.prepaid_run_trigger(
        actor=world.actor(),
        as_of=today,
        accounts=["PP-D1", "PP-D2"],
        estimation="ALL",
        recurring_interval_days=30,
        enqueue=False,
    )
    run = runs.prepaid_run_execute(run_id=run.pk)
    PrepaidRunError.objects.create(
        run=run, account=acc, service=svc, code="rating_failed", message="periods overlap"
    )
    successor = PrepaidBillingRun.objects.get(previous=run)

    response = world.client(S.Role.VIEWER).get(f"/wallets/runs/{run.pk}/")

    assert response.status_code == 200
    html = _body(response)
    assert run.debited_total == Decimal("10.00") and run.invalid_count == 1
    assert '<dd id="c-debited">$10.00</dd>' in html
    assert '<dd id="c-accounts">2 of 2</dd>' in html
    assert '<dd id="c-invalid">1</dd>' in html and '<dd id="c-rated">1</dd>' in html
    assert "2 of 2 accounts · 1 item rated · $10.00 debited · 1 service invalid" in html
    # the errors table names the service, the code and the message
    assert (
        f"<td>{svc.external_id}</td><td><code>rating_failed</code></td><td>periods overlap" in html
    )
    # the rated item: its period (end excluded), amount and debit
    items = list(response.context["items"])
    assert [(i.service_id, i.amount, i.debited, i.state) for i in items] == [
        (svc.pk, Decimal("10.00"), Decimal("10.00"), "BILLED")
    ]
    assert f"{today - timedelta(days=10):%Y-%m-%d} → {today:%Y-%m-%d}" in html
    assert blocked.external_id not in html.split('id="run-items"')[1]
    # a recurring run links its successor, as of 30 days later
    assert f'href="/wallets/runs/{successor.pk}/" id="successor-link"' in html
    assert f"as of {successor.as_of:%Y-%m-%d}" in html
    w.refresh_from_db()
    assert w.balance == Decimal("90.00")  # what the page says was debited left the wallet


def test_run_of_another_tenant_is_not_found(world):
    run = PrepaidBillingRun.objects.create(tenant=world.other_tenant, as_of=date(2026, 11, 30))

    response = world.client(S.Role.OWNER).get(f"/wallets/runs/{run.pk}/")
    progress = world.client(S.Role.OWNER).get(f"/wallets/runs/{run.pk}/progress/")

    assert response.status_code == 404 and progress.status_code == 404


def test_a_recurring_runs_successor_waiting_for_its_day_is_not_polled(world):
    acc = b.account(world.tenant, "PP-R1")
    b.wallet(world.tenant, acc, balance="50.00")
    run = runs.prepaid_run_trigger(
        actor=world.actor(),
        as_of=timezone.localdate(),
        accounts=["PP-R1"],
        recurring_interval_days=30,
        enqueue=False,
    )
    runs.prepaid_run_execute(run_id=run.pk)
    successor = PrepaidBillingRun.objects.get(previous=run)
    client = world.client(S.Role.VIEWER)

    rows = _body(client.get("/wallets/runs/rows/"))
    page = _body(client.get(f"/wallets/runs/{successor.pk}/"))

    assert successor.status == "DRAFT" and successor.scheduled_for > timezone.now()
    assert f'id="run-{successor.pk}" data-status="DRAFT"' in rows and "hx-trigger" not in rows
    assert "(the next run of a recurring one)" in page and "hx-trigger" not in page
    assert f'href="/wallets/runs/{run.pk}/" id="previous-link"' in page
