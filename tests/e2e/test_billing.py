"""A billing manager triggers a run and watches it finish live, then explores a production run:
decisions filtered by class, a decision's inputs, a replay and the roster download."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import BillingRun, Decision
from billing.services import runs as run_services
from billing.services.exports import ROSTER_COLUMNS
from core import queue
from core.demo import load_demo
from tests.e2e.signin import sign_in as _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_triggers_a_simulation_and_watches_it_complete(live_server, page, monkeypatch):
    load_demo()
    # the trigger request queues nothing (the run stays QUEUED until this test executes it)
    queued: list[tuple] = []
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: queued.append((func, args)))
    _sign_in(page, live_server.url, "demo-manager")

    # the manager opens Billing and triggers a simulation of this month for all payers
    page.click("nav.mainnav >> text=Billing")
    expect(page.locator("h1")).to_have_text("Billing runs")
    this_month = f"{timezone.localdate():%Y-%m}"  # 2026-11
    expect(page.locator("#month")).to_have_value(this_month)
    page.check("#all-payers")
    page.check("#trigger-form input[name=mode][value=SIMULATION]")
    page.click("#trigger-form button[type=submit]")

    # they land on the run's page: queued, with the live progress panel
    expect(page).to_have_url(re.compile(r"/billing/runs/\d+/$"))
    run = BillingRun.objects.get(triggered_by__username="demo-manager")
    assert page.url.endswith(f"/billing/runs/{run.pk}/")
    assert (run.mode, run.status, f"{run.month:%Y-%m}") == ("SIMULATION", "QUEUED", this_month)
    # every payer of the tenant: the two billing payers, the claims demo's 835 payer and the
    # COB demo's Medicare
    payers = set(run.payers.values_list("code", flat=True))
    assert payers == {"NORTHWIND", "BLUEPEAK", "NYSDOH", "MEDICARE-B"}
    assert queued == [("billing.tasks.run_start", (run.pk,))]
    expect(page.locator(".messages")).to_contain_text(
        f"Run #{run.pk} queued: simulation {this_month}."
    )
    expect(page.locator("#run-status")).to_have_text("Queued")
    expect(page.locator("#run-counts")).to_contain_text("waiting for a worker")
    expect(page.locator("#run-progress")).to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator("#s-members")).to_have_count(0)  # no summary yet
    monkeypatch.undo()

    # a worker (this test) executes the run; the page polls and reloads itself, no reload here
    run_services.billing_run_execute(run_id=run.pk)
    page.wait_for_selector('#run-status[data-status^="COMPLETED"]', timeout=15_000)
    run.refresh_from_db()
    # the demo's BLUEPEAK members with a dental suffix raise exceptions
    assert run.status in BillingRun.DONE and run.members_total > 0
    expect(page.locator("#run-status")).to_have_text(re.compile(r"^Completed"))
    expect(page.locator("#run-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    # the reload brought the results in: the summary of the finished run
    expect(page.locator("#s-members")).to_have_text(f"{run.members_total:,}")
    expect(page.locator("#s-total")).to_have_text(f"${Decimal(run.summary['total_charge']):,.2f}")
    expect(page.locator("#run-counts")).to_contain_text(
        f"{run.members_total:,} of {run.members_total:,} members"
    )


def test_manager_filters_decisions_replays_one_and_downloads_the_roster(live_server, page):
    load_demo()
    run = BillingRun.objects.filter(mode="PRODUCTION", tenant__slug="demo").latest("month")
    _sign_in(page, live_server.url, "demo-manager")

    # the manager opens the run from the list, then its Decisions tab
    page.click("nav.mainnav >> text=Billing")
    page.click(f"#run-{run.pk} a")
    expect(page.locator("h1")).to_contain_text(f"Run {run.pk}")
    page.click("nav.tabs >> text=Decisions")

    # they filter by class BILLED_ACTIVE
    page.select_option("#filter-class", "BILLED_ACTIVE")
    page.click("#decision-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"decision_class=BILLED_ACTIVE"))
    billed = Decision.objects.filter(run=run, decision_class="BILLED_ACTIVE")
    assert billed.count() > 0
    expect(page.locator(".pager")).to_contain_text(f"({billed.count()} decisions)")
    classes = page.locator("table.decisions tr[id^=decision-] .cls").all_inner_texts()
    assert classes and set(classes) == {"Billed: active"}

    # they open the first decision's inputs: the HTMX fragment appears under the row
    row = page.locator("table.decisions tr[id^=decision-]").first
    decision = Decision.objects.get(pk=int(row.get_attribute("id").removeprefix("decision-")))
    row.locator("button", has_text="Inputs").click()
    inputs = page.locator(f"#inputs-{decision.pk} #decision-inputs-{decision.pk}")
    expect(inputs).to_be_visible()
    expect(inputs).to_contain_text("Billed: active")
    expect(inputs.locator("tr.winner")).to_have_count(1)
    expect(inputs.locator("tr.winner")).to_contain_text(str(decision.inputs["winner"]))
    assert re.search(r"/\?tab=decisions&decision_class=BILLED_ACTIVE", page.url)  # no navigation

    # they replay it under the payer's rule version: the result table appears
    version = decision.rule_version.version
    inputs.locator("select[name=rule_version]").select_option(version)
    inputs.locator("button", has_text="Replay").click()
    result = page.locator(f"#replay-{decision.pk} .replay-result")
    expect(result).to_be_visible()
    expect(result).to_contain_text(f"Same outcome under v{version}")
    expect(result.locator("#old-class")).to_have_text("Billed: active")
    expect(result.locator("#new-class")).to_have_text("Billed: active")
    expect(result.locator("#new-amount")).to_have_text(f"${decision.amount:,.2f}")

    # they download the roster from the Downloads tab
    page.click("nav.tabs >> text=Downloads")
    expect(page.locator("#package-status")).to_have_text("Ready")
    with page.expect_download() as info:
        page.click("#download-roster")
    download = info.value
    assert download.suggested_filename == f"roster-run{run.pk}-{run.month:%Y-%m}-v1.csv"
    with open(download.path(), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert lines[0] == ",".join(ROSTER_COLUMNS)
    billable = Decision.objects.filter(run=run, billable=True).count()
    assert len(lines) == 1 + billable + 3  # header, one row per billable decision, footer
    assert lines[-3] == f"# rows,{billable}"
