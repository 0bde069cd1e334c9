"""Shared fixtures: a tenant with one member per role, another tenant, API clients."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from core import scopes as S
from core.actors import Actor
from core.models import Tenant
from core.services import membership_add, tenant_create, user_ensure

ROLES = [r.value for r in S.Role]


@dataclass
class World:
    """Tenant A with one user per role, tenant B with its own owner."""

    tenant: Tenant
    other_tenant: Tenant
    users: dict[str, object] = field(default_factory=dict)
    outsider: object = None

    def actor(self, role: str = S.Role.OWNER) -> Actor:
        return Actor(tenant=self.tenant, user=self.users[role])

    def client(self, role: str | None) -> APIClient:
        """A session client signed in as the role's user (None: anonymous)."""
        c = APIClient()
        if role == "outsider":
            c.force_login(self.outsider)
        elif role is not None:
            c.force_login(self.users[role])
        return c


def make_tenant(slug: str) -> Tenant:
    return tenant_create(slug=slug, name=f"{slug.title()} Health")


def add_user(tenant: Tenant, username: str, role: str):
    user = user_ensure(username=username)
    membership_add(actor=Actor.system_for(tenant), user=user, role=role)
    return user


@pytest.fixture
def world(db) -> World:
    tenant = make_tenant("alpha")
    other = make_tenant("beta")
    w = World(tenant=tenant, other_tenant=other)
    for role in ROLES:
        w.users[role] = add_user(tenant, f"alpha-{role.lower()}", role)
    w.outsider = add_user(other, "beta-owner", S.Role.OWNER)
    return w


@pytest.fixture
def tenant(world) -> Tenant:
    return world.tenant


@pytest.fixture
def owner(world):
    return world.users[S.Role.OWNER]


@pytest.fixture
def owner_actor(world) -> Actor:
    return world.actor(S.Role.OWNER)


@pytest.fixture
def token_client():
    """Build an APIClient that authenticates with a raw API token."""

    def build(raw: str) -> APIClient:
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return c

    return build
