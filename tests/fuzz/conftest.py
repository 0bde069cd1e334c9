"""The API fuzz: a session database filled by load_demo, an OWNER and a VIEWER token.

Run with `make fuzz` (or `pytest tests/fuzz -m fuzz`); the default test run deselects it.
Each test runs in pytest-django's transaction and every example in a savepoint rolled back
afterwards, so each request sees the demo
data as load_demo left it: a fuzzed revoke of the token in use, a role change or a policy
change cannot starve the examples that follow.
"""

from __future__ import annotations

import pytest

from core import scopes as S

ROLES = {"owner": "demo-owner", "viewer": "demo-viewer"}
_TOKENS: dict[str, str] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """A fresh test database with the demo data and one API token per fuzzed role."""
    from django.contrib.auth import get_user_model

    from core.actors import Actor
    from core.demo import DEMO_TENANT, load_demo
    from core.models import Tenant
    from core.services import api_token_create

    with django_db_blocker.unblock():
        load_demo()
        tenant = Tenant.objects.get(slug=DEMO_TENANT)
        for role, username in ROLES.items():
            user = get_user_model().objects.get(username=username)
            actor = Actor(tenant=tenant, user=user)
            offered = set(S.offered_scopes()) & actor.scopes
            _, raw = api_token_create(actor=actor, name=f"fuzz {role}", scopes=sorted(offered))
            _TOKENS[role] = raw


@pytest.fixture(scope="session")
def fuzz_tokens(django_db_setup) -> dict[str, str]:
    return dict(_TOKENS)


@pytest.fixture
def keep_connection():
    """The WSGI app's request signals must not close the test's connection mid-transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # Django closes "old" connections around each request; inside our per-example transaction
    # that would close the connection mid-transaction (Django's own test client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
