"""The forced-match report (issue 13 item 7): rate by month, by user and by payer, as the API
`GET /api/reports/forced-matches?month=` and the screen /claims/receivables/report/ show it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone

from core import scopes as S
from denials import charts_rec
from denials.models import RemittanceClaim
from denials.selectors_screens_rec import forced_match_report, months_back
from tests.denials import rec_builders as b
from tests.envelope import error_envelope

MS = RemittanceClaim.MatchState
OWNER, VIEWER = S.Role.OWNER, S.Role.VIEWER
API = "/api/reports/forced-matches"


def _at(day: int, month: int | None = None) -> datetime:
    now = timezone.now()
    return datetime(now.year, month or now.month, day, 12, 0, tzinfo=UTC)


def _history(world):
    """This month: payer P1 3 auto + 1 forced (owner), P2 1 auto + 2 forced (owner, admin);
    one waiting line (not counted). Last month's lines are outside a one-month report."""
    owner, admin = world.users[OWNER], world.users[S.Role.ADMIN]
    p1, p2 = b.payer(world.tenant, "P1"), b.payer(world.tenant, "P2")
    m = b.member(world.tenant, "MR-1")
    made = []
    for p, autos, forced_by in ((p1, 3, [owner]), (p2, 1, [owner, admin])):
        r = b.remittance(world.tenant, p)
        c = b.claim(world.tenant, p, m)
        for _ in range(autos):
            made.append(
                b.remit_claim(
                    r, pcn="X", member_code="MR-1", state=MS.MATCHED_AUTO, matched=c, at=_at(2)
                )
            )
        for user in forced_by:
            made.append(
                b.remit_claim(
                    r,
                    pcn="Y",
                    member_code="MR-1",
                    state=MS.MATCHED_FORCED,
                    matched=c,
                    user=user,
                    reason="checked",
                    at=_at(3),
                )
            )
        b.remit_claim(r, pcn="Z", member_code="MR-1")
    return made


def test_report_worked_example_by_month_user_and_payer(world):
    # given 7 matched lines this month, 3 of them forced (2 by the owner, 1 by the admin)
    _history(world)
    # when the report is read for this month
    month = timezone.now().date().replace(day=1)
    [row] = forced_match_report(world.actor(VIEWER), month=month)
    # then the month's rate is 3/7, by user 2/7 and 1/7, by payer 1/4 and 2/3
    assert (row["month"], row["matched"], row["forced"]) == (month, 7, 3)
    assert row["rate"] == Decimal("0.4286")
    assert [(u["user"], u["forced"], u["rate"]) for u in row["by_user"]] == [
        ("alpha-owner", 2, Decimal("0.2857")),
        ("alpha-admin", 1, Decimal("0.1429")),
    ]
    assert [(p["payer"], p["matched"], p["forced"], p["rate"]) for p in row["by_payer"]] == [
        ("P1", 4, 1, Decimal("0.2500")),
        ("P2", 3, 2, Decimal("0.6667")),
    ]


def test_report_counts_each_month_apart_newest_first(world):
    # given a forced match last month and an automatic one this month
    p = b.payer(world.tenant, "P1")
    m = b.member(world.tenant, "MR-2")
    c = b.claim(world.tenant, p, m)
    r = b.remittance(world.tenant, p)
    today = timezone.now().date()
    last = months_back(today, 2)
    b.remit_claim(
        r,
        pcn="A",
        member_code="MR-2",
        state=MS.MATCHED_FORCED,
        matched=c,
        user=world.users[OWNER],
        reason="r",
        at=datetime(last.year, last.month, 10, 12, tzinfo=UTC),
    )
    b.remit_claim(r, pcn="B", member_code="MR-2", state=MS.MATCHED_AUTO, matched=c, at=_at(1))
    # when the report covers the last 12 months
    rows = forced_match_report(world.actor(VIEWER), since=months_back(today, 12))
    # then two months, newest first: 0 % this month, 100 % last month
    assert [(r["month"], r["forced"], r["matched"], r["rate"]) for r in rows] == [
        (today.replace(day=1), 0, 1, Decimal("0.0000")),
        (last, 1, 1, Decimal("1.0000")),
    ]


def test_api_returns_the_report_with_rates_as_decimals(world):
    # given this month's history
    _history(world)
    month = timezone.now().strftime("%Y-%m")
    # when a viewer asks the API for this month
    response = world.client(VIEWER).get(f"{API}?month={month}")
    # then the figures are those of the worked example
    assert response.status_code == 200
    [row] = response.json()["months"]
    assert row["month"] == month and row["matched"] == 7 and row["forced"] == 3
    assert row["rate"] == "0.4286"
    assert row["by_user"][0] == {"user": "alpha-owner", "forced": 2, "rate": "0.2857"}
    assert row["by_payer"][1] == {
        "payer": "P2",
        "name": "Receivables Payer",
        "matched": 3,
        "forced": 2,
        "rate": "0.6667",
    }


def test_api_refuses_a_malformed_month_naming_it(world):
    error = error_envelope(world.client(VIEWER).get(f"{API}?month=2026-13"), 400)
    assert "month" in error["details"]


def test_api_needs_sign_in_and_hides_other_tenants(world):
    # given tenant A's history
    _history(world)
    # then anonymous gets 401 and tenant B's owner sees no month
    error_envelope(world.client(None).get(API), 401)
    assert world.client("outsider").get(API).json() == {"months": []}


def test_screen_shows_chart_and_tables(world):
    # given this month's history
    _history(world)
    # when a viewer opens the report
    page = world.client(VIEWER).get("/claims/receivables/report/")
    html = page.content.decode()
    # then the chart has a column for the month with its rate and counts written on it
    assert page.status_code == 200
    month = timezone.now().strftime("%Y-%m")
    assert 'id="forced-rate-chart"' in html and f'data-month="{month}"' in html
    assert "42.9 %" in html and "3 of 7" in html
    # and the tables by user and by payer
    assert 'data-user="alpha-owner"' in html and "28.6 %" in html
    assert 'data-payer="P2"' in html and "66.7 %" in html


def test_screen_refuses_a_malformed_month_beside_the_field(world):
    page = world.client(VIEWER).get("/claims/receivables/report/?month=13-2026")
    assert page.status_code == 400
    assert 'id="month-error"' in page.content.decode()


def test_screen_says_when_nothing_was_matched(world):
    page = world.client(VIEWER).get("/claims/receivables/report/")
    assert page.status_code == 200 and 'id="report-empty"' in page.content.decode()


def test_rate_columns_geometry():
    # given two months at 25 % and 100 %
    chart = charts_rec.rate_columns(
        ["2026-10", "2026-11"], [Decimal("0.25"), Decimal("1")], [(1, 4), (2, 2)], height=240
    )
    low, high = chart["columns"]
    # then the full column is four times as tall as the quarter one, values written on them
    assert round(high["h"] / low["h"], 6) == 4
    assert (low["percent"], low["counts"]) == ("25.0 %", "1 of 4")
    assert high["y"] == chart["ticks"][-1]["y"]  # 100 % reaches the top tick
    assert [t["text"] for t in chart["ticks"]] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
