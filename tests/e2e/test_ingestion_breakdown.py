"""The batch page's breakdown bar is drawn, its segments in proportion to the counters (issue 10:
"The batch breakdown bar is 0 px wide: only its legend shows on batch pages")."""

import pytest
from playwright.sync_api import expect

from core.actors import Actor
from core.demo import DEMO_PASSWORD, load_demo
from core.models import Tenant
from ingestion import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# two rows load, one repeats a row of this file (skipped), one names an unknown payer (error)
CSV = (
    b"member_id,payer_code,service_date,service_code\n"
    b"M000001,NORTHWIND,2024-02-05,99215\n"
    b"M000002,NORTHWIND,2024-02-06,99215\n"
    b"M000001,NORTHWIND,2024-02-05,99215\n"
    b"M000003,NOSUCHPAYER,2024-02-07,99215\n"
)


def _width(page, selector: str) -> float:
    return page.locator(selector).evaluate("el => el.getBoundingClientRect().width")


def test_breakdown_bar_is_drawn_in_proportion(live_server, page):
    load_demo()
    tenant = Tenant.objects.get(slug="demo")
    batch = services.batch_ingest_file(
        actor=Actor.system_for(tenant),
        kind="SERVICE_DELIVERY",
        filename="feb.csv",
        content=CSV,
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)
    assert (batch.success, batch.error, batch.skipped, batch.pending) == (2, 1, 1, 0)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "demo-ops")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/ingestion/batches/{batch.pk}/")
    expect(page.locator("#breakdown")).to_be_visible()

    bar = _width(page, "#breakdown")
    ok, upd, err, skip, pend = (
        _width(page, f"#breakdown .{seg}")
        for seg in ("ok-seg", "upd-seg", "err-seg", "skip-seg", "pend-seg")
    )
    # the bar spans the panel, not 0 px
    panel = _width(page, "#batch-progress")
    assert bar > 0.9 * panel > 0
    # and each segment takes its share: 2 loaded, 1 error, 1 skipped of 4
    assert ok == pytest.approx(bar / 2, abs=1.5)
    assert err == pytest.approx(bar / 4, abs=1.5)
    assert skip == pytest.approx(bar / 4, abs=1.5)
    assert upd == pend == 0
    assert ok + err + skip == pytest.approx(bar, abs=1.5)
