"""An owner adds a webhook endpoint pointing at a loopback receiver, copies the secret shown once,
sends a test event and sees the delivery logged with status 200; the receiver verifies the
signature with the secret the page showed.

The live server runs in this process, so the `settings` fixture's DEBUG=True reaches it: plain
http to 127.0.0.1 is then an allowed target (the same rule as in production, no patched check).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from core import scopes as S
from core.models import WebhookDelivery, WebhookEndpoint
from core.services import user_ensure
from tests.core.webhook_receiver import Receiver
from tests.fixtures import add_user, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "e2e-pass-2026"
SHOT = "/tmp/shot-webhooks.png"


def test_add_endpoint_send_test_event_and_see_it_logged(live_server, page, settings):
    settings.DEBUG = True
    tenant = make_tenant("alpha")
    add_user(tenant, "alpha-owner", S.Role.OWNER)
    user_ensure(username="alpha-owner", password=PASSWORD)

    with Receiver(body=b'{"thanks": "received"}') as rx:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "alpha-owner")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav.mainnav >> text=Webhooks")
        expect(page.locator("h1")).to_have_text("Webhooks")

        # a refused target first: the reason appears beside the URL field
        page.fill("#wh-url", "https://10.0.0.1/hook")
        page.click("#webhook-add-form button[type=submit]")
        expect(page.locator("#wh-url-error")).to_be_visible()

        page.fill("#wh-url", rx.url)
        page.fill("#wh-description", "demo receiver")
        page.click("#webhook-add-form button[type=submit]")
        expect(page.locator("#new-secret")).to_contain_text("shown only this once")
        secret = page.inner_text("#webhook-secret").strip()
        assert secret.startswith("whsec_")

        page.click("#test-form button[type=submit]")
        # HTMX swaps the log in place: the outcome and the delivery, without a reload
        expect(page.locator("#log-outcome")).to_contain_text("Test event delivered (HTTP 200)")
        row = page.locator("#deliveries tbody").first
        expect(row.locator(".delivery-status")).to_have_text("Delivered")
        expect(row.locator(".delivery-code")).to_have_text("200")
        expect(row).to_contain_text("webhook.test")
        row.locator("details summary").click()
        expect(row.locator("tr.attempt")).to_contain_text('{"thanks": "received"}')
        page.screenshot(path=SHOT, full_page=True)

    # what the receiver got is signed with the secret the page showed
    assert len(rx.requests) == 1
    sent = rx.requests[0]
    Webhook(secret).verify(sent.body, sent.headers)
    assert sent.json["type"] == "webhook.test"
    endpoint = WebhookEndpoint.objects.get(tenant=tenant)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.last_status_code) == ("DELIVERED", 200)

    # the secret is not shown again, and the list shows the endpoint's last delivery
    page.reload()
    expect(page.locator("#webhook-secret")).to_have_count(0)
    page.goto(f"{live_server.url}/settings/webhooks/")
    expect(page.locator(f"#endpoint-{endpoint.pk}")).to_contain_text("Delivered")
