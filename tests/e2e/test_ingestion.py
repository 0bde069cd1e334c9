"""An operator uploads a service file, corrects the failed row inline and retries the batch."""

import re

import pytest
from playwright.sync_api import expect

from core.demo import load_demo
from ingestion.models import Batch, BatchRecord
from tests.e2e.signin import sign_in as _sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# M000001 is a demo member; the payer is unknown, so the row fails until it is corrected
CSV = b"member_id,payer_code,service_date,service_code\nM000001,NOSUCHPAYER,2025-06-15,99215\n"


def test_operator_uploads_corrects_and_retries(live_server, page):
    load_demo()
    _sign_in(page, live_server.url, "demo-ops")

    # the operator opens Ingestion from the navigation and uploads the file
    page.click("nav.mainnav >> text=Ingestion")
    expect(page.locator("h1")).to_have_text("Ingestion")
    page.select_option("#kind", "SERVICE_DELIVERY")
    page.set_input_files("#file", {"name": "june.csv", "mimeType": "text/csv", "buffer": CSV})
    page.click("#upload-form button[type=submit]")

    # they land on the batch page: one record, in error, shown on the ERROR tab
    expect(page).to_have_url(re.compile(r"/ingestion/batches/\d+/$"))
    batch = Batch.objects.get(artifact__filename="june.csv")
    expect(page.locator("h1")).to_contain_text(f"Batch {batch.pk}")
    expect(page.locator("#c-error")).to_have_text("1")
    expect(page.locator("#c-total")).to_have_text("1")
    row = page.locator("#record-2")
    expect(row).to_contain_text("payer_code: expected a known payer, found 'NOSUCHPAYER'")

    # they correct the payer inline; HTMX swaps the row in place
    row.locator("input[name=payer_code]").fill("NORTHWIND")
    row.locator("button[type=submit]").click()
    expect(page.locator("#record-2 .ok")).to_have_text("Saved.")
    expect(page.locator("#record-2")).to_contain_text("corrected (payer_code)")
    expect(page).to_have_url(re.compile(rf"/ingestion/batches/{batch.pk}/$"))  # no navigation
    assert BatchRecord.objects.get(batch=batch).data["payer_code"] == "NORTHWIND"

    # they press Retry; the batch completes without errors
    page.click("#retry")
    expect(page.locator("#c-error")).to_have_text("0")
    # the retry ran inside the request (Q_SYNC, on commit): the first page after the redirect
    # is already final; an HX-Refresh reload would have consumed this message
    expect(page.locator(".messages")).to_contain_text(f"Retrying batch {batch.pk}.")
    expect(page.locator("#c-success")).to_have_text("1")
    expect(page.locator("#batch-progress .badge")).to_have_text("Completed")
    expect(page.locator("#retry")).to_have_count(0)
    batch.refresh_from_db()
    assert (batch.status, batch.success, batch.error) == ("COMPLETED", 1, 0)
