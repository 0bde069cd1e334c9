"""A billing manager resolves every exception of one code of a run at once: the confirmation
dialog names the count, the page then lists each exception's outcome and the run is completed."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import BillingRun, RunException
from core.demo import load_demo
from core.models import AuditEntry
from tests.billing import exception_builders as xb
from tests.e2e.signin import sign_in as _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOTE = "suffix X is the dental rider; confirmed with the payer"


def test_manager_resolves_all_exceptions_of_a_code_through_the_confirmation(live_server, page):
    # given a completed run of the demo tenant whose 4 exceptions are all of one code
    tenant = load_demo()
    xr = xb.run_with_exceptions(tenant, unknown=3, other_unknown=1, no_tier=0)
    run = xr.run
    assert run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS
    _sign_in(page, live_server.url, "demo-manager")

    # the manager opens the run's Exceptions tab: one group, 4 open, with its form
    page.goto(f"{live_server.url}/billing/runs/{run.pk}/")
    page.click("nav.tabs >> text=Exceptions (4)")
    group = page.locator(f"#group-{xb.UNKNOWN}")
    expect(group.locator("[data-count=open]")).to_have_text("4")
    expect(group.locator("[data-count=resolved]")).to_have_text("0")
    expect(page.locator("#exception-rows tr[id^=exception-]")).to_have_count(4)
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "COMPLETED_WITH_EXCEPTIONS"
    )

    # they type a note and ask to resolve all 4, then think again and cancel
    group.locator("input[name=resolution]").fill(NOTE)
    group.locator("button", has_text="Resolve all 4").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(
        f"Resolve all 4 open {xb.UNKNOWN} exceptions of run {run.pk} with this note"
    )
    dialog.locator("button", has_text="Cancel").click()
    expect(dialog).to_be_hidden()
    assert RunException.objects.filter(run=run, status="OPEN").count() == 4

    # they ask again and confirm
    group.locator("button", has_text="Resolve all 4").click()
    expect(dialog).to_be_visible()
    dialog.locator("button", has_text="Resolve 4").click()

    # the page lists each exception's outcome and the counts
    outcome = page.locator("#bulk-outcome")
    expect(outcome).to_be_visible()
    expect(outcome).to_contain_text(f"Outcome: all open {xb.UNKNOWN}")
    expect(page.locator("#outcome-resolved")).to_have_text("4")
    expect(page.locator("#outcome-already-resolved")).to_have_text("0")
    expect(page.locator("#outcome-not-allowed")).to_have_text("0")
    rows = page.locator("#outcome-rows tr[id^=outcome-]")
    expect(rows).to_have_count(4)
    expect(page.locator("#outcome-rows tr[data-outcome=resolved]")).to_have_count(4)
    ids = sorted(e.pk for e in xr.unknown + xr.other_unknown)
    assert [int(r.get_attribute("id").removeprefix("outcome-")) for r in rows.all()] == ids

    # and the run is completed: its status, the flash message, the tab without a count
    expect(page.locator("#run-status")).to_have_attribute("data-status", "COMPLETED")
    expect(page.locator(".messages")).to_contain_text(
        f"Run {run.pk}: 4 resolved. The run is completed."
    )
    expect(page.locator("nav.tabs a", has_text=re.compile(r"^Exceptions$"))).to_have_count(1)
    expect(group.locator("[data-count=open]")).to_have_text("0")
    expect(group.locator("[data-count=resolved]")).to_have_text("4")
    run.refresh_from_db()
    assert run.status == BillingRun.Status.COMPLETED
    assert set(RunException.objects.filter(run=run).values_list("resolution", flat=True)) == {NOTE}
    resolved = AuditEntry.objects.filter(tenant=tenant, action="RUN_EXCEPTION_RESOLVED")
    assert resolved.count() == 4


def test_manager_resolves_ticked_exceptions_with_the_count_in_the_dialog(live_server, page):
    # given a completed run of the demo tenant with 3 + 1 open exceptions of one code
    tenant = load_demo()
    xr = xb.run_with_exceptions(tenant, unknown=3, other_unknown=1, no_tier=0)
    _sign_in(page, live_server.url, "demo-manager")
    page.goto(f"{live_server.url}/billing/runs/{xr.run.pk}/?tab=exceptions")

    # nothing ticked: the button waits
    button = page.locator("#resolve-selected")
    expect(button).to_be_disabled()

    # they tick two rows: the button and the dialog say 2
    picked = [xr.unknown[0].pk, xr.other_unknown[0].pk]
    for pk in picked:
        page.check(f"#exception-{pk} input[name=ids]")
    expect(button).to_have_text("Resolve 2 selected exceptions")
    page.fill("#note-selection", NOTE)
    button.click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text(
        f"Resolve 2 selected exceptions of run {xr.run.pk} with this note"
    )
    dialog.locator("button", has_text="Resolve 2").click()

    # each picked one is resolved, the rest stay open
    expect(page.locator("#outcome-resolved")).to_have_text("2")
    for pk in picked:
        expect(page.locator(f"#outcome-{pk}")).to_have_attribute("data-outcome", "resolved")
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "COMPLETED_WITH_EXCEPTIONS"
    )
    expect(page.locator("#exception-rows tr[id^=exception-]")).to_have_count(2)
    open_left = RunException.objects.filter(run=xr.run, status="OPEN")
    assert sorted(open_left.values_list("id", flat=True)) == sorted(e.pk for e in xr.unknown[1:])
