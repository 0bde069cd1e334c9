"""The session engine (core.session_store): outside a transaction an existing session is saved
by one UPDATE; the idle timeout still slides and a vanished session is still an UpdateError."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import scopes as S
from core.session_store import SessionStore

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as a web request runs


def test_each_request_moves_the_session_expiry_forward(world, settings):
    # given a signed-in viewer whose session would expire in one minute
    client = Client()
    client.force_login(world.users[S.Role.VIEWER])
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=1))
    # when they open a page
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    # then the session expires a full idle timeout from now, written by one statement
    expiry = Session.objects.get(pk=key).expire_date
    idle = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT_SECONDS)
    assert expiry > timezone.now() + idle - timedelta(minutes=1)
    sql = [q["sql"].split()[0] for q in queries.captured_queries]
    update = next(
        i
        for i, q in enumerate(queries.captured_queries)
        if "django_session" in q["sql"][:30] and q["sql"].startswith("UPDATE")
    )
    assert (sql[update - 1], sql[update + 1 : update + 2]) != ("BEGIN", ["COMMIT"])
    # and the session still carries the user (the next request is still signed in)
    assert client.get("/").status_code == 200


def test_saving_a_session_that_was_deleted_is_an_update_error(world):
    # given a stored session, loaded, then deleted elsewhere (signed out in another tab)
    store = SessionStore()
    store["tenant_id"] = world.tenant.pk
    store.create()
    loaded = SessionStore(session_key=store.session_key)
    loaded["x"] = 1
    Session.objects.filter(pk=store.session_key).delete()
    # when it is saved, then Django's UpdateError says so (the middleware answers 400)
    with pytest.raises(UpdateError):
        loaded.save()
    assert not Session.objects.filter(pk=store.session_key).exists()
