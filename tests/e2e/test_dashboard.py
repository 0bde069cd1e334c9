"""The dashboard warns when work waits and no worker has reported for a minute; the warning goes
away as soon as a worker reports again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core import scopes as S
from core.health import heartbeat_record
from core.models import WorkerHeartbeat
from core.services import user_ensure
from ingestion.models import Batch
from tests.fixtures import add_user, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "e2e-pass-2026"


def test_dashboard_warns_while_the_worker_is_stopped(live_server, page):
    # given a tenant with a batch waiting for a worker, and a worker last seen 5 minutes ago
    tenant = make_tenant("alpha")
    add_user(tenant, "alpha-ops", S.Role.OPERATIONS)
    user_ensure(username="alpha-ops", password=PASSWORD)
    Batch.objects.create(tenant=tenant, kind="ELIGIBILITY")
    WorkerHeartbeat.objects.create(
        name="worker host-1", seen_at=timezone.now() - timedelta(minutes=5)
    )

    # when the operations user signs in
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alpha-ops")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    # then the dashboard says no worker runs and what waits for one
    warning = page.locator("#worker-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("No background worker is running.")
    expect(warning).to_contain_text("1 ingestion batch pending or processing")
    expect(page.locator("#worker-status")).to_have_text("not seen")
    # and so does every other page while it lasts
    page.click("nav.mainnav >> text=Ingestion")
    expect(page.locator("#worker-warning")).to_be_visible()

    # when the worker reports again
    heartbeat_record("worker host-1")
    page.click("nav.mainnav >> text=Dashboard")

    # then the warning is gone and the worker shows as running
    expect(page.locator("#worker-status")).to_have_text("running")
    expect(page.locator("#worker-warning")).to_have_count(0)
    # and the ingestion panel still shows the pending batch
    expect(page.locator("section.panel", has_text="Ingestion batches")).to_contain_text("pending")
