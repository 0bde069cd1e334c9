"""The wallet screens: what a user reads on the list, the wallet page (figures, burn-down chart,
ledger, services), the top-up form, and the low-balance dashboard panel."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import scopes as S
from tests.wallets import builders as b
from wallets import charts
from wallets.models import Wallet, WalletTransaction
from wallets.services import runs

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode()


def _estimated(w: Wallet, days: int | None) -> Wallet:
    """Set a stored estimate as a finished run would."""
    today = timezone.localdate()
    w.daily_burn = Decimal("1.0000") if days is not None else None
    w.estimated_consumption_days = days
    w.estimated_consumption_date = today + timedelta(days=days) if days is not None else None
    w.estimated_as_of = today
    w.estimated_at = timezone.now()
    w.save()
    return w


def _ran(world, acc, *, estimation="ALL", recurring=None):
    """A prepaid run as of today over one account, executed inline."""
    run = runs.prepaid_run_trigger(
        actor=world.actor(),
        as_of=timezone.localdate(),
        accounts=[acc.number],
        estimation=estimation,
        recurring_interval_days=recurring,
        enqueue=False,
    )
    return runs.prepaid_run_execute(run_id=run.pk)


# --- list -----------------------------------------------------------------------------------


def test_wallet_list_shows_figures_run_out_date_and_state_badges(world):
    healthy = _estimated(
        b.wallet(world.tenant, b.account(world.tenant, "PP-H"), balance="500.00"), 200
    )
    low = _estimated(
        b.wallet(
            world.tenant, b.account(world.tenant, "PP-L"), balance="12.00", min_balance="20.00"
        ),
        12,
    )
    empty = b.wallet(world.tenant, b.account(world.tenant, "PP-E"))

    response = world.client(S.Role.VIEWER).get("/wallets/")

    assert response.status_code == 200
    html = _body(response)
    assert "$500.00" in html and "$12.00" in html and "$20.00" in html
    assert healthy.estimated_consumption_date.isoformat() in html
    rows = {w.pk: w.state for w in response.context["rows"]}
    assert rows == {healthy.pk: "healthy", low.pk: "low", empty.pk: "empty"}
    assert f'id="wallet-{low.pk}" data-state="low"' in html


def test_wallet_list_low_filter_lists_the_low_ones_and_the_csv_the_same(world):
    b.wallet(world.tenant, b.account(world.tenant, "PP-FINE"), balance="300.00")
    _estimated(b.wallet(world.tenant, b.account(world.tenant, "PP-SOON"), balance="30.00"), 5)
    client = world.client(S.Role.VIEWER)

    html = _body(client.get("/wallets/?low=true"))
    csv = _body(client.get("/wallets/wallets.csv?low=true"))

    assert "PP-SOON" in html and "PP-FINE" not in html
    lines = csv.strip().splitlines()
    assert lines[0].startswith("wallet,account,currency,balance,available")
    assert len(lines) == 2 and ",PP-SOON,USD,30.00,30.00," in lines[1]
    assert lines[1].endswith(",low")


# --- wallet page ----------------------------------------------------------------------------


def test_wallet_page_after_a_run_shows_balance_ledger_services_and_the_run_out_on_the_chart(world):
    today = timezone.localdate()
    acc = b.account(world.tenant, "PP-RUN")
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
    run = _ran(world, acc)
    w.refresh_from_db()
    assert w.balance == Decimal("90.00")  # 10 days at $1.00

    response = world.client(S.Role.VIEWER).get(f"/wallets/{w.pk}/")

    assert response.status_code == 200
    html = _body(response)
    runout = (today + timedelta(days=90)).isoformat()  # floor(90.00 / 1.00) days
    assert w.estimated_consumption_date.isoformat() == runout
    assert '<dd id="w-balance"><strong>$90.00</strong></dd>' in html
    assert '<dd id="w-available">$90.00</dd>' in html
    assert f"<strong>{runout}</strong> (90 days)" in html
    # the chart: a history line and the projection to zero, the run-out written on it
    assert 'id="burndown-chart"' in html and 'class="history"' in html
    assert f'data-runout="{runout}"' in html and f"runs out {runout}" in html
    # the ledger, newest first: the run's debit above the opening credit
    ledger = list(response.context["page"])
    assert [(t.kind, t.amount) for t in ledger] == [
        ("DEBIT", Decimal("-10.00")),
        ("CREDIT", Decimal("100.00")),
    ]
    assert "-$10.00" in html and f'href="/wallets/runs/{run.pk}/"' in html
    # the service's prepayment state and how far it is rated
    assert f'id="service-{svc.pk}" data-state="VALID"' in html
    since = (today - timedelta(days=60)).isoformat()
    assert f'<td class="period-now">Active since {since}</td>' in html
    assert f"{today.isoformat()}</td>" in html


def test_wallet_page_without_an_estimate_draws_no_projection(world):
    w = b.wallet(world.tenant, balance="10.00")

    html = _body(world.client(S.Role.VIEWER).get(f"/wallets/{w.pk}/"))

    assert 'id="burndown-chart"' in html and "data-runout" not in html
    assert "no projection: no run-out estimate" in html


def test_wallet_page_of_another_tenant_is_not_found(world):
    w = b.wallet(world.other_tenant, balance="10.00")

    response = world.client(S.Role.OWNER).get(f"/wallets/{w.pk}/")

    assert response.status_code == 404
    assert "$10.00" not in _body(response)


def test_burn_down_projection_reaches_zero_at_the_run_out_date():
    today = date(2026, 12, 4)
    chart = charts.burn_down(
        [(date(2026, 11, 4), Decimal("100.00")), (date(2026, 11, 20), Decimal("60.00"))],
        today=today,
        balance=Decimal("60.00"),
        runout=date(2027, 1, 3),
    )
    p = chart["projection"]
    assert p["date"] == "2027-01-03" and p["text"] == "runs out 2027-01-03"
    assert p["y2"] == pytest.approx(chart["zero_y"])  # zero at the run-out day
    assert p["x2"] == pytest.approx(chart["right_x"])  # the last day of the axis
    assert p["y1"] == pytest.approx(chart["dots"][1]["y"])  # from today's balance
    assert chart["dots"][0]["y"] < chart["dots"][1]["y"]  # $100 drawn above $60
    assert chart["start_text"] == "2026-11-04" and chart["end_text"] == "2027-01-03"


# --- top-up ---------------------------------------------------------------------------------


def test_top_up_through_the_form_credits_the_wallet_and_says_the_new_balance(world):
    w = b.wallet(world.tenant, balance="15.00")
    client = world.client(S.Role.BILLING_MANAGER)

    response = client.post(
        f"/wallets/{w.pk}/top-up/", {"amount": "1,250.50", "reference": "wire 2026-12-04"}
    )

    assert response.status_code == 302 and response["Location"] == f"/wallets/{w.pk}/"
    w.refresh_from_db()
    assert w.balance == Decimal("1265.50")
    tx = WalletTransaction.objects.filter(wallet=w).latest("id")
    assert (tx.kind, tx.amount, tx.cause, tx.reference) == (
        "CREDIT",
        Decimal("1250.50"),
        "TOP_UP",
        "wire 2026-12-04",
    )
    html = _body(client.get(f"/wallets/{w.pk}/"))
    assert "Topped up $1,250.50 (wire 2026-12-04): the balance is now $1,265.50." in html
    assert '<dd id="w-balance"><strong>$1,265.50</strong></dd>' in html


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "expected an amount &gt; 0 with at most 2 decimals"),
        ("12.345", "expected an amount &gt; 0 with at most 2 decimals"),
        ("2000000", "expected at most 1,000,000"),
        ("fifty", "expected an amount in dollars and cents, e.g. 50.00"),
    ],
)
def test_top_up_refused_amount_is_said_beside_the_field_and_nothing_moves(world, amount, message):
    w = b.wallet(world.tenant, balance="15.00")

    response = world.client(S.Role.OWNER).post(
        f"/wallets/{w.pk}/top-up/", {"amount": amount, "reference": "desk"}
    )

    assert response.status_code == 400
    html = _body(response)
    assert f'<p class="error field-error" id="error-amount">{message}' in html
    assert f'value="{amount}"' in html  # the form again, as typed
    w.refresh_from_db()
    assert w.balance == Decimal("15.00") and w.transactions.count() == 1


def test_top_up_needs_a_reference(world):
    w = b.wallet(world.tenant, balance="15.00")

    response = world.client(S.Role.OWNER).post(f"/wallets/{w.pk}/top-up/", {"amount": "5.00"})

    assert response.status_code == 400
    assert 'id="error-reference">expected a text (required)' in _body(response)


def test_top_up_form_is_hidden_with_a_reason_for_a_role_without_the_scope(world):
    w = b.wallet(world.tenant, balance="15.00")

    viewer = _body(world.client(S.Role.VIEWER).get(f"/wallets/{w.pk}/"))
    manager = _body(world.client(S.Role.BILLING_MANAGER).get(f"/wallets/{w.pk}/"))
    refused = world.client(S.Role.VIEWER).post(
        f"/wallets/{w.pk}/top-up/", {"amount": "5.00", "reference": "x"}
    )

    assert 'id="topup-form"' not in viewer
    assert "You cannot top up wallets: your role does not hold “Top up wallets”." in viewer
    assert 'id="topup-form"' in manager and "data-confirm=" in manager
    assert refused.status_code == 403
    w.refresh_from_db()
    assert w.balance == Decimal("15.00")


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_panel_lists_a_low_wallet_and_not_a_healthy_one(world):
    low = b.wallet(
        world.tenant, b.account(world.tenant, "PP-LOW"), balance="4.00", min_balance="10.00"
    )
    b.wallet(world.tenant, b.account(world.tenant, "PP-OK"), balance="400.00", min_balance="10.00")

    response = world.client(S.Role.VIEWER).get("/")

    html = _body(response)
    panel = next(p for p in response.context["panels"] if p.title == "Low-balance wallets")
    labels = [c.label for c in panel.counters]
    assert labels[0] == "low-balance wallets" and panel.counters[0].count == 1
    assert labels[1] == "PP-LOW at $4.00 (below the minimum balance) · no run-out estimate"
    assert panel.counters[1].count is None  # no estimate: no number of days is made up
    assert panel.counters[1].url == f"/wallets/{low.pk}/"
    assert "PP-LOW at $4.00" in html and "PP-OK" not in html


def test_dashboard_panel_counts_the_days_left_of_an_estimated_wallet(world):
    soon = _estimated(b.wallet(world.tenant, b.account(world.tenant, "PP-SOON"), balance="3.00"), 3)

    response = world.client(S.Role.VIEWER).get("/")

    panel = next(p for p in response.context["panels"] if p.title == "Low-balance wallets")
    runout = soon.estimated_consumption_date.isoformat()
    assert [(c.label, c.count) for c in panel.counters[1:]] == [
        (f"days left · PP-SOON at $3.00 (runs out {runout})", 3)
    ]


@pytest.mark.parametrize("role", [r.value for r in S.Role])
def test_nav_leads_every_role_to_the_wallets(world, role):
    html = _body(world.client(role).get("/"))

    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    assert re.search(r'<a href="/wallets/"[^>]*>Wallets</a>', nav)
