"""Billing workbench (issue 10): simulations are never taken for production, queued runs do not
look finished, labels/money/links on screens, readable charts, list exports, confirmations."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.models import Decision
from core import scopes as S
from core.models import AuditEntry, TenantMembership
from core.services import object_access_grant
from tests.billing import api_builders as b

R = S.Role
RUNS = "/api/billing/runs"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _download(response) -> str:
    return b"".join(response.streaming_content).decode()


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def simulation(world):
    p = b.billed_payer(world.tenant, members=2)
    return b.completed_run(world.tenant, [p], mode="SIMULATION")


# --- 1. a simulation has no roster --------------------------------------------------------


def test_simulation_roster_is_refused_by_the_api_with_409(world, simulation):
    r = world.client(R.BILLING_MANAGER).get(f"{RUNS}/{simulation.pk}/roster.csv")
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "simulation_has_no_roster"
    assert "a simulation has no roster" in error["message"]
    assert not AuditEntry.objects.filter(action="phi.export").exists()


def test_simulation_roster_is_refused_on_the_screen_with_409(world, simulation):
    r = world.client(R.VIEWER).get(f"/billing/runs/{simulation.pk}/roster.csv")
    assert r.status_code == 409
    assert "text/csv" not in r["Content-Type"]
    assert "a simulation has no roster" in _text(r)


def test_simulation_roster_command_exits_with_the_message(world, simulation):
    with pytest.raises(CommandError, match="a simulation has no roster"):
        call_command("export_roster", "--run", str(simulation.pk), stdout=io.StringIO())


def test_simulation_decisions_csv_is_named_and_marked_as_a_simulation(world, simulation):
    r = world.client(R.VIEWER).get(f"{RUNS}/{simulation.pk}/decisions.csv")
    assert r.status_code == 200
    name = f"simulation-run-{simulation.pk}-2026-10-decisions.csv"
    assert f'filename="{name}"' in r["Content-Disposition"]
    text = _download(r)
    assert text.splitlines()[0] == "# SIMULATION - not billable, not a roster"
    assert text.splitlines()[1].startswith("member_id,payer_code,month,decision_class")
    assert len(text.splitlines()) == 2 + 2


def test_production_decisions_csv_is_unchanged(world):
    run = b.completed_run(world.tenant, [b.billed_payer(world.tenant)])
    r = world.client(R.VIEWER).get(f"{RUNS}/{run.pk}/decisions.csv")
    assert f'filename="decisions-run{run.pk}-2026-10-v1.csv"' in r["Content-Disposition"]
    assert _download(r).splitlines()[0].startswith("member_id,")


def test_simulation_downloads_tab_offers_results_not_a_roster(world, simulation):
    body = _text(world.client(R.VIEWER).get(f"/billing/runs/{simulation.pk}/?tab=downloads"))
    assert 'id="download-roster"' not in body and "Roster CSV" not in body
    assert (
        f'<a href="/billing/runs/{simulation.pk}/decisions.csv" id="download-simulation">'
        "Simulation results (not billable)</a>"
    ) in body


# --- 2. queued work does not look finished ------------------------------------------------


def test_queued_run_progress_is_unknown_in_the_api(world):
    run = b.trigger(world.tenant, [b.billed_payer(world.tenant)])
    progress = world.client(R.VIEWER).get(f"{RUNS}/{run.pk}").json()["progress"]
    assert progress["percent"] is None
    assert progress["members_total"] == 0


def test_queued_run_in_the_list_waits_for_a_worker(world):
    run = b.trigger(world.tenant, [b.billed_payer(world.tenant)])
    rows = _text(world.client(R.VIEWER).get("/billing/rows/"))
    row = re.search(rf'<tr id="run-{run.pk}">.*?</tr>', rows, re.S).group(0)
    assert "waiting for a worker" in row
    assert "value=" not in re.search(r"<progress[^>]*>", row).group(0)
    assert "0/0" not in row


# --- 4. covered days on the decision screen -----------------------------------------------


def test_pending_decision_with_an_exception_bills_zero_days_and_shows_covered_days(world):
    # given a member whose benefit combination is unknown (pending, with an exception)
    p = b.payer_with_rules(world.tenant)
    b.member(world.tenant, p)
    odd = b.member(world.tenant, p, benefit_suffix=b.UNKNOWN_SUFFIX)
    run = b.completed_run(world.tenant, [p])
    d = Decision.objects.get(run=run, member=odd)
    assert d.decision_class == "NOT_BILLED_PENDING"
    client = world.client(R.VIEWER)

    # then the API says 0 billable days and keeps the 31 covered days in the inputs
    body = client.get(f"/api/billing/decisions/{d.pk}").json()
    assert (body["billable_days"], body["inputs"]["covered_days"]) == (0, 31)
    # the decisions CSV says 0 too
    rows = _rows(_download(client.get(f"{RUNS}/{run.pk}/decisions.csv")))
    row = next(r for r in rows[1:] if r[0] == odd.external_id)
    assert (row[3], row[4]) == ("NOT_BILLED_PENDING", "0")
    # and the decision screen shows both, worded for people
    page = _text(client.get(f"/billing/decisions/{d.pk}/"))
    assert f'<span id="billable-days-{d.pk}">0 billable days</span>' in page
    assert f'<span id="covered-days-{d.pk}">31 covered days</span>' in page
    assert "Not billed: pending" in page


# --- 5/6/10. readable codes, money, links -------------------------------------------------


def test_run_badge_reads_completed_with_exceptions(world):
    run, _ = b.run_with_exception(world.tenant)
    client = world.client(R.VIEWER)
    rows = _text(client.get("/billing/rows/"))
    assert 'data-status="COMPLETED_WITH_EXCEPTIONS">Completed with exceptions</span>' in rows
    page = _text(client.get(f"/billing/runs/{run.pk}/"))
    assert 'data-status="COMPLETED_WITH_EXCEPTIONS">Completed with exceptions</span>' in page


def test_core_audit_screen_shows_labels_links_and_key_value_details(world):
    run = b.completed_run(world.tenant, [b.billed_payer(world.tenant)])
    body = _text(world.client(R.OWNER).get("/audit/?action=RUN_TRIGGERED"))
    row = next(r for r in body.split("<tr>") if 'title="RUN_TRIGGERED"' in r)
    assert '<span class="code" title="RUN_TRIGGERED">Run triggered</span>' in row
    assert f'<a href="/billing/runs/{run.pk}/" class="object-link">Run {run.pk}</a>' in row
    assert '<dl class="kv">' in row and "<dt>Month</dt><dd>2026-10-01</dd>" in row
    assert "{'" not in row
    assert not re.search(r"\d{2}:\d{2}:\d{2}", row)


# --- 8. charts ----------------------------------------------------------------------------


def test_production_run_chart_highlights_its_month_with_values_on_the_chart(world):
    run = b.completed_run(world.tenant, [b.billed_payer(world.tenant, members=2)])
    page = _text(world.client(R.VIEWER).get(f"/billing/runs/{run.pk}/"))
    chart = re.search(r'<section class="card wide" id="month-chart">.*?</section>', page, re.S)
    chart = chart.group(0)
    assert re.search(r'<g class="column highlight" data-month="Oct 26">', chart)
    assert ">this run</text>" in chart
    assert 'class="column-value">$825</text>' in chart  # 2 x 412.50, readable without hover
    assert 'class="tick-label">$0</text>' in chart  # the value axis is labelled


def test_simulation_chart_shows_only_its_own_figures(world):
    p = b.billed_payer(world.tenant)
    b.completed_run(world.tenant, [p])  # production: 412.50
    b.member(world.tenant, p)
    sim = b.completed_run(world.tenant, [p], mode="SIMULATION")  # 2 members: 825.00
    page = _text(world.client(R.VIEWER).get(f"/billing/runs/{sim.pk}/"))
    chart = re.search(r'<section class="card wide" id="month-chart">.*?</section>', page, re.S)
    chart = chart.group(0)
    assert "simulation" in chart.lower()
    assert chart.count('<g class="column') == 1
    assert 'class="column-value">$825</text>' in chart
    assert "$412" not in chart and "$1,237" not in chart


def test_retroactive_amounts_are_their_own_segment():
    from billing.charts import columns

    chart = columns([("Sep 26", Decimal("1000"), Decimal("-310")), ("Oct 26", Decimal(0), 0)])
    sep = chart["columns"][0]
    assert sep["retro"] == Decimal("-310") and sep["retro_h"] > 0
    assert sep["retro_y"] >= chart["zero_y"]  # a refund hangs below the zero line
    assert chart["any_retro"] is True


# --- 9. list exports ----------------------------------------------------------------------


def test_runs_list_export_keeps_the_filters_and_payer_grants(world):
    p1, p2 = b.billed_payer(world.tenant), b.billed_payer(world.tenant)
    only_p1 = b.completed_run(world.tenant, [p1])
    b.completed_run(world.tenant, [p2])
    sim = b.completed_run(world.tenant, [p1], mode="SIMULATION")
    ops = world.users[R.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(R.OWNER), membership_id=membership.pk, obj=p1)
    client = world.client(R.OPERATIONS)

    # the list links its export with the current filters
    page = _text(client.get("/billing/?mode=PRODUCTION"))
    assert '<a href="/billing/runs.csv?mode=PRODUCTION" id="export-runs"' in page

    r = client.get("/billing/runs.csv?mode=PRODUCTION")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = _rows(_download(r))
    assert rows[0][:6] == ["run", "month", "payers", "mode", "version", "status"]
    assert [int(x[0]) for x in rows[1:]] == [only_p1.pk]  # P2's run and the simulation left out
    assert rows[1][2] == p1.code and rows[1][10] == "412.50"
    every = _rows(_download(client.get("/billing/runs.csv")))
    assert sorted(int(x[0]) for x in every[1:]) == sorted([only_p1.pk, sim.pk])
    # another tenant's owner exports only its own (no) runs
    assert len(_rows(_download(world.client("outsider").get("/billing/runs.csv")))) == 1


def test_decisions_tab_export_keeps_the_filters(world):
    p = b.payer_with_rules(world.tenant)
    b.member(world.tenant, p)
    b.member(world.tenant, p, benefit_suffix=b.UNKNOWN_SUFFIX)
    run = b.completed_run(world.tenant, [p])
    client = world.client(R.VIEWER)
    page = _text(client.get(f"/billing/runs/{run.pk}/?tab=decisions&decision_class=BILLED_ACTIVE"))
    url = f"/billing/runs/{run.pk}/decisions-list.csv?decision_class=BILLED_ACTIVE"
    assert f'<a href="{url}" id="export-decisions"' in page

    rows = _rows(_download(client.get(url)))
    assert rows[0][:5] == ["decision", "member_id", "payer_code", "month", "decision_class"]
    assert [r[4] for r in rows[1:]] == ["BILLED_ACTIVE"]
    assert rows[1][7] == "412.50"
    everything = _rows(_download(client.get(f"/billing/runs/{run.pk}/decisions-list.csv")))
    assert len(everything) == 3


def test_simulation_decisions_tab_export_is_marked(world, simulation):
    r = world.client(R.VIEWER).get(f"/billing/runs/{simulation.pk}/decisions-list.csv")
    assert "simulation-run-" in r["Content-Disposition"]
    assert _download(r).splitlines()[0] == "# SIMULATION - not billable, not a roster"


# --- 7. confirmations carry the numbers ----------------------------------------------------


def test_trigger_form_embeds_member_counts_per_payer(world):
    p = b.billed_payer(world.tenant, members=3)
    page = _text(world.client(R.BILLING_MANAGER).get("/billing/"))
    data = re.search(r'<script id="scope-counts" type="application/json">(.*?)</script>', page)
    assert f'"{p.code}": 3' in data.group(1)


def test_trigger_refusal_keeps_a_production_confirmation_with_the_count(world):
    p = b.billed_payer(world.tenant, members=3)
    b.completed_run(world.tenant, [p])
    form = {"month": "2026-10", "payers": [p.code], "mode": "PRODUCTION"}
    page = _text(world.client(R.BILLING_MANAGER).post("/billing/", form))
    assert f'data-confirm="Bill 3 members of {p.code} for 2026-10"' in page


def test_cancel_and_regenerate_forms_confirm_with_numbers(world):
    done = b.completed_run(world.tenant, [b.billed_payer(world.tenant, members=2)])
    client = world.client(R.BILLING_MANAGER)
    page = _text(client.get(f"/billing/runs/{done.pk}/"))
    assert (
        f'data-confirm="Regenerate run {done.pk} (version 1, 2 members, 2026-10) as version 2; '
        f'run {done.pk} is superseded once the new version completes."'
    ) in page
    queued = b.trigger(world.tenant, [b.billed_payer(world.tenant)])
    page = _text(client.get(f"/billing/runs/{queued.pk}/"))
    assert f'data-confirm="Cancel run {queued.pk} (production 2026-10, version 1)?' in page


def test_rule_activation_confirms_which_version_it_replaces_from_when(world):
    p = b.payer_with_rules(world.tenant)
    draft = b.rule_version(world.tenant, p, version="v2", activate=False)
    page = _text(world.client(R.BILLING_MANAGER).get("/billing/rules/"))
    assert (
        f'data-confirm="Activate {p.code} v2: from {draft.effective_from:%Y-%m-%d} it replaces v1'
    ) in page
    assert f'data-confirm="Retire {p.code} v1 (in force since' in page


def test_overrides_list_exports_what_it_shows_with_payer_grants(world):
    from billing.services.overrides import member_month_override_request

    p1, p2 = b.payer_with_rules(world.tenant), b.payer_with_rules(world.tenant)
    for p in (p1, p2):
        member_month_override_request(
            actor=world.actor(R.OWNER),
            payer_code=p.code,
            member_external_id=b.member(world.tenant, p).external_id,
            month=b.MONTH,
            outcome="BILLABLE",
            rate="300.00",
            reason=f"contract for {p.code}",
        )
    ops = world.users[R.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(R.OWNER), membership_id=membership.pk, obj=p1)
    client = world.client(R.OPERATIONS)

    assert 'href="/billing/overrides.csv" id="overrides-export"' in _text(
        client.get("/billing/overrides/")
    )
    r = client.get("/billing/overrides.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = _rows(_download(r))
    assert rows[0][:6] == ["override", "payer_code", "member_id", "month", "outcome", "rate"]
    assert [(x[1], x[4], x[5], x[6]) for x in rows[1:]] == [
        (p1.code, "BILLABLE", "300.00", f"contract for {p1.code}")
    ]
    assert AuditEntry.objects.filter(action="phi.export", payload__export="overrides list").exists()


def test_members_in_scope_count_follows_a_new_assertion_despite_the_cache(world):
    from billing.selectors_workbench import members_in_scope_by_payer

    p = b.billed_payer(world.tenant, members=2)
    actor = world.actor(R.BILLING_MANAGER)
    assert members_in_scope_by_payer(actor)[p.code] == 2
    b.member(world.tenant, p)
    assert members_in_scope_by_payer(actor)[p.code] == 3


def test_dashboard_recent_activity_links_the_run_it_names(world):
    run = b.completed_run(world.tenant, [b.billed_payer(world.tenant)])
    page = _text(world.client(R.BILLING_MANAGER).get("/"))
    assert f'href="/billing/runs/{run.pk}/" class="object-link"' in page
    assert 'title="RUN_COMPLETED">Run completed</span>' in page
