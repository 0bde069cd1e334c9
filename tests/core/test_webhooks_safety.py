"""Safe targets: private, loopback, link-local and metadata addresses are refused at save time
and again at delivery (DNS re-checked each time); redirects are not followed."""

from __future__ import annotations

import socket

import pytest

from core.exceptions import DomainError
from core.models import WebhookDelivery, WebhookEndpoint
from core.webhooks import (
    url_check,
    webhook_endpoint_create,
    webhook_endpoint_update,
    webhook_send_test,
)

pytestmark = pytest.mark.django_db

UNSAFE = [
    "https://10.0.0.1/hook",
    "https://192.168.1.5/hook",
    "https://172.16.0.1/hook",
    "https://127.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd12:3456::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:169.254.169.254]/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://100.64.0.1/hook",
    "https://localhost/hook",
    "https://internal.partner.test/hook",  # resolves to 127.0.0.1 (fake DNS below)
    "https://mixed.partner.test/hook",  # one public and one private address
    "ftp://partner.example/hook",
    "https://user:pw@public.partner.test/hook",
    "javascript:alert(1)",
    "",
]

FAKE_DNS = {
    "internal.partner.test": ["127.0.0.1"],
    "mixed.partner.test": ["93.184.216.34", "10.1.2.3"],
    "public.partner.test": ["93.184.216.34"],
    "rebind.partner.test": ["93.184.216.34"],
    "localhost": ["127.0.0.1", "::1"],
}


@pytest.fixture
def fake_dns(monkeypatch):
    """Names of FAKE_DNS resolve to its addresses (editable by the test); others as usual."""
    real = socket.getaddrinfo
    table = {name: list(addrs) for name, addrs in FAKE_DNS.items()}

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in table:
            out = []
            for addr in table[host]:
                family = socket.AF_INET6 if ":" in addr else socket.AF_INET
                sockaddr = (addr, port or 0, 0, 0) if ":" in addr else (addr, port or 0)
                out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return out
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_urls_are_refused_at_save(settings, fake_dns, owner_actor, url):
    settings.DEBUG = True  # even in DEBUG: only plain http to loopback is let through
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(actor=owner_actor, url=url)
    assert refused.value.code == "unsafe_url"
    assert refused.value.details == {"field": "url"}
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_only_to_loopback_and_only_in_debug(settings, fake_dns, owner_actor):
    settings.DEBUG = False
    for url in ("http://127.0.0.1:8099/hook", "http://public.partner.test/hook"):
        with pytest.raises(DomainError) as refused:
            url_check(url)
        assert refused.value.code == "unsafe_url"
    settings.DEBUG = True
    assert url_check("http://127.0.0.1:8099/hook") == "http://127.0.0.1:8099/hook"
    assert url_check("http://localhost:8099/hook") == "http://localhost:8099/hook"
    with pytest.raises(DomainError):
        url_check("http://public.partner.test/hook")  # http to a public host: never
    with pytest.raises(DomainError):
        url_check("http://example.org/hook")


def test_public_https_is_accepted_and_normalised(fake_dns, owner_actor):
    endpoint, _ = webhook_endpoint_create(
        actor=owner_actor, url="  HTTPS://Public.Partner.TEST:443/hook?x=1#frag "
    )
    assert endpoint.url == "https://public.partner.test/hook?x=1"
    assert url_check("https://93.184.216.34:8443/h") == "https://93.184.216.34:8443/h"


def test_unsafe_url_refused_on_update_too(fake_dns, owner_actor):
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url="https://public.partner.test/h")
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_update(
            actor=owner_actor, endpoint_id=endpoint.pk, url="https://10.0.0.1/h"
        )
    assert refused.value.code == "unsafe_url"
    endpoint.refresh_from_db()
    assert endpoint.url == "https://public.partner.test/h"


@pytest.mark.parametrize(
    "url",
    [u for u in UNSAFE if u.startswith("https://") and "@" not in u]
    + ["http://127.0.0.1:9/hook"],  # plain http with DEBUG off
)
def test_unsafe_targets_are_refused_again_at_delivery(settings, fake_dns, owner_actor, url):
    """A row that got an unsafe URL anyway (older data, a direct edit) is never called."""
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url="https://public.partner.test/h")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url)
    settings.DEBUG = False

    delivery = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)

    attempt = delivery.attempt_log.get()
    assert delivery.status == "FAILED"
    assert attempt.status_code is None and not attempt.succeeded
    assert attempt.error.startswith("refused:")


def test_dns_rebinding_after_save_is_refused_at_delivery(
    settings, fake_dns, owner_actor, webhook_receiver
):
    rx = webhook_receiver()
    endpoint, _ = webhook_endpoint_create(
        actor=owner_actor, url=f"https://rebind.partner.test:{rx.port}/hook"
    )
    fake_dns["rebind.partner.test"] = ["127.0.0.1"]  # the name now points inside

    delivery = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)

    assert delivery.status == "FAILED"
    assert delivery.attempt_log.get().error.startswith("refused:")
    assert rx.requests == []


def test_redirect_is_a_failed_attempt_and_not_followed(settings, owner_actor, webhook_receiver):
    settings.DEBUG = True
    target = webhook_receiver()
    bouncer = webhook_receiver(redirect_to=target.url)
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=bouncer.url)

    delivery = webhook_send_test(actor=owner_actor, endpoint_id=endpoint.pk)

    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 302 and attempt.error == "redirect not followed"
    assert delivery.status == "FAILED"
    assert len(bouncer.requests) == 1
    assert target.requests == []


def test_redirected_event_delivery_stays_pending_for_retry(
    settings, owner_actor, webhook_receiver, test_event_type
):
    from core.events import event_emit
    from core.outbox import events_relay
    from core.webhooks import webhook_dispatch

    settings.DEBUG = True
    target = webhook_receiver()
    bouncer = webhook_receiver(redirect_to=target.url)
    endpoint, _ = webhook_endpoint_create(actor=owner_actor, url=bouncer.url)
    event_emit(tenant=owner_actor.tenant, type=test_event_type, object_id=1, payload={})
    events_relay(owner_actor.tenant.pk)

    assert webhook_dispatch(endpoint.pk) == 0
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "PENDING" and delivery.last_status_code == 302
    assert target.requests == []


def test_without_resolving_only_literal_addresses_are_checked(settings):
    settings.DEBUG = False
    assert url_check("https://partner.invalid/h", resolve=False) == "https://partner.invalid/h"
    for url in ("https://10.0.0.1/h", "https://[::1]/h", "http://partner.invalid/h"):
        with pytest.raises(DomainError):
            url_check(url, resolve=False)
