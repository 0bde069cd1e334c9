"""The demo data registry: each app adds a loader; `manage.py load_demo` runs them in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from core import scopes as S
from core.actors import Actor
from core.models import Tenant, TenantMembership
from core.services import (
    membership_add,
    membership_set_role,
    superuser_ensure,
    tenant_create,
    user_ensure,
)

DEMO_TENANT = "demo"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS: list[tuple[str, str]] = [
    ("demo-owner", S.Role.OWNER),
    ("demo-admin", S.Role.ADMIN),
    ("demo-manager", S.Role.BILLING_MANAGER),
    ("demo-ops", S.Role.OPERATIONS),
    ("demo-viewer", S.Role.VIEWER),
]
# A Django superuser for /admin/ only: no tenant membership, so no role in the staff screens.
DEMO_SUPERUSER = "demo-superuser"


@dataclass(frozen=True)
class DemoLoader:
    """One app's demo data; `load(tenant)` must be idempotent."""

    name: str
    order: int
    load: Callable[[Tenant], str]


_LOADERS: dict[str, DemoLoader] = {}


def register_demo_loader(name: str, order: int, load: Callable[[Tenant], str]) -> None:
    """Called from an app's AppConfig.ready()."""
    _LOADERS[name] = DemoLoader(name, order, load)


def demo_loaders() -> list[DemoLoader]:
    """Registered loaders in run order."""
    return sorted(_LOADERS.values(), key=lambda x: (x.order, x.name))


def _ensure_tenant(slug: str, name: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    return tenant or tenant_create(slug=slug, name=name, actor_label="load_demo")


def _ensure_member(tenant: Tenant, username: str, role: str) -> None:
    user = user_ensure(username=username, password=DEMO_PASSWORD)
    system = Actor.system_for(tenant)
    membership = TenantMembership.objects.filter(tenant=tenant, user=user).first()
    if membership is None:
        membership_add(actor=system, user=user, role=role)
    elif membership.role != role:
        membership_set_role(actor=system, membership_id=membership.pk, role=role)


def load_core_demo(tenant: Tenant) -> str:
    """One user per role in the demo tenant, and a second tenant to show the switcher."""
    for username, role in DEMO_USERS:
        _ensure_member(tenant, username, role)
    other = _ensure_tenant("acme", "Acme Health Plan")
    _ensure_member(other, "demo-owner", S.Role.OWNER)
    superuser_ensure(username=DEMO_SUPERUSER, password=DEMO_PASSWORD)
    return f"{len(DEMO_USERS)} users and a superuser, second tenant 'acme'"


register_demo_loader("core", 0, load_core_demo)


def load_demo(*, stdout_write: Callable[[str], None] = lambda s: None) -> Tenant:
    """Create (or bring up to date) the demo tenant and every app's demo data."""
    with transaction.atomic():
        tenant = _ensure_tenant(DEMO_TENANT, "Demo Health Billing")
    for loader in demo_loaders():
        stdout_write(f"  {loader.name}: {loader.load(tenant)}")
    return tenant


# --- issue 19: a webhook endpoint the demo user can watch with `manage.py webhook_listen` ------

DEMO_WEBHOOK_PORT = 8099
DEMO_WEBHOOK_URL = f"http://127.0.0.1:{DEMO_WEBHOOK_PORT}/"
# The demo's one fixed, documented secret, so the README can print the listen command. Real
# endpoints get a random secret from the service, shown once.
DEMO_WEBHOOK_SECRET = "whsec_aGVhbHRoYmlsbC1kZW1vLXdlYmhvb2tzLTIwMjYhISE="


def load_webhook_demo(tenant: Tenant) -> str:
    """An endpoint at the local listener (plain http to loopback: only when DEBUG is on)."""
    from django.conf import settings

    if not settings.DEBUG:
        return f"no endpoint at {DEMO_WEBHOOK_URL} (plain http to loopback needs DEBUG=true)"
    from core.models import WebhookEndpoint
    from core.webhooks import webhook_endpoint_create, webhook_endpoint_set_active

    system = Actor.system_for(tenant)
    endpoint = (
        WebhookEndpoint.objects.filter(tenant=tenant, url__startswith=DEMO_WEBHOOK_URL.rstrip("/"))
        .order_by("pk")
        .first()
    )
    if endpoint is None:
        endpoint, _secret = webhook_endpoint_create(
            actor=system,
            url=DEMO_WEBHOOK_URL,
            description=f"Demo: manage.py webhook_listen --port {DEMO_WEBHOOK_PORT}",
        )
    elif not endpoint.active:  # disabled after 24 h with nobody listening: listen again
        webhook_endpoint_set_active(actor=system, endpoint_id=endpoint.pk, active=True)
    # demo data only: the known secret instead of the random one (and no older one in force)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        secret=DEMO_WEBHOOK_SECRET, previous_secret="", previous_secret_expires_at=None
    )
    return (
        f"endpoint {endpoint.pk} at {DEMO_WEBHOOK_URL}; watch events arrive with: "
        f"manage.py webhook_listen --port {DEMO_WEBHOOK_PORT} --secret {DEMO_WEBHOOK_SECRET}"
    )


register_demo_loader("webhooks", 95, load_webhook_demo)
