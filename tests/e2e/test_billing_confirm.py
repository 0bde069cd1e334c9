"""A production trigger asks first, in a dialog that names the number of members it bills."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.engine.months import add_months
from billing.models import BillingRun, Payer
from billing.selectors import authoritative_runs
from billing.selectors_workbench import members_in_scope_by_payer
from core import queue
from core.actors import Actor
from core.demo import DEMO_PASSWORD, load_demo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _free_month(payer: Payer) -> str:
    """The latest month (this one or earlier) without a completed production run of the payer."""
    month = timezone.localdate().replace(day=1)
    while authoritative_runs(payer.tenant_id, payer.pk, month).exists():
        month = add_months(month, -1)
    return f"{month:%Y-%m}"


def test_production_trigger_confirms_with_the_member_count(live_server, page, monkeypatch):
    load_demo()
    monkeypatch.setattr(queue, "enqueue", lambda func, *args, **kw: None)  # runs stay QUEUED
    payer = Payer.objects.get(code="BLUEPEAK")
    count = members_in_scope_by_payer(Actor.system_for(payer.tenant))["BLUEPEAK"]
    assert count > 0
    month = _free_month(payer)
    before = BillingRun.objects.count()

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-manager")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/billing/")

    # the manager chooses BLUEPEAK, production, and a month without a completed run
    page.fill("#month", month)
    page.check("#trigger-form input[name=payers][value=BLUEPEAK]")
    page.check("#trigger-form input[name=mode][value=PRODUCTION]")
    page.click("#trigger-form button[type=submit]")

    # a dialog says what will happen, in numbers
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".confirm-text")).to_have_text(
        f"Bill {count:,} member{'s' if count != 1 else ''} of BLUEPEAK for {month}"
    )

    # cancelling sends nothing
    dialog.locator("button[value=cancel]").click()
    expect(dialog).to_be_hidden()
    assert BillingRun.objects.count() == before
    expect(page).to_have_url(f"{live_server.url}/billing/")

    # confirming triggers the run
    page.click("#trigger-form button[type=submit]")
    expect(dialog).to_be_visible()
    dialog.locator("button[value=confirm]").click()
    expect(page).to_have_url(re.compile(r"/billing/runs/\d+/$"))
    run = BillingRun.objects.get(triggered_by__username="demo-manager", mode="PRODUCTION")
    assert BillingRun.objects.count() == before + 1
    assert (f"{run.month:%Y-%m}", list(run.payers.values_list("code", flat=True))) == (
        month,
        ["BLUEPEAK"],
    )
