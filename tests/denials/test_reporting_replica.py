"""The reports read a replica where one is set, and the primary where none is or it is down.

The replica here is a second connection (alias `reporting`) to the test database itself, so
what it reads is what the primary committed: the tests are transactional for that reason.
"""

from __future__ import annotations

import logging
from copy import deepcopy
from datetime import date

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import ConnectionDoesNotExist, load_backend
from django.test.utils import CaptureQueriesContext

from core import scopes as S
from core.reporting_db import REPORTING, ReportingRouter, reporting_alias
from denials.reporting_overrides import OVERRIDES
from denials.reporting_sql import META, OPEN, RECON
from denials.services.override_report import override_report
from denials.services.reporting import aging, reconciliation, reporting_refreshed_at
from tests.denials.test_reporting import books  # noqa: F401 (the fixture: two payers' claims)

# ruff: noqa: F811 - `books` is the imported fixture, named as a test's argument

pytestmark = pytest.mark.django_db(transaction=True)

AS_OF = date(2026, 6, 30)


@pytest.fixture
def replica(settings):
    """`replica(**changes)` sets up the `reporting` alias: the primary's settings with changes."""

    def configure(**changes):
        settings_dict = deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
        settings_dict.update(changes)
        backend = load_backend(settings_dict["ENGINE"])
        connections[REPORTING] = backend.DatabaseWrapper(settings_dict, alias=REPORTING)
        settings.REPORTING_DATABASE = REPORTING

    yield configure
    try:
        connections[REPORTING].close()
    except ConnectionDoesNotExist:  # the test never set it up
        return
    del connections[REPORTING]


def _reports(actor) -> tuple:
    return (
        [(r.payer, r.month, r.billed, r.open) for r in reconciliation(actor)],
        [(r.payer, r.buckets) for r in aging(actor, as_of=AS_OF)],
        override_report(actor),
        reporting_refreshed_at(),
    )


def test_without_a_replica_the_reports_read_the_primary(world, books, replica):
    assert reporting_alias() == DEFAULT_DB_ALIAS
    rows = reconciliation(world.actor(S.Role.OWNER))
    assert {r.payer for r in rows} == {"ACME", "ZEN"}


def test_with_a_replica_every_report_reads_it_and_shows_the_same(world, books, replica):
    actor = world.actor(S.Role.OWNER)
    # given the figures the primary gives
    on_primary = _reports(actor)

    # when a replica is configured
    replica()
    assert reporting_alias() == REPORTING
    with (
        CaptureQueriesContext(connections[REPORTING]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
    ):
        figures = _reports(actor)

    # then the reports' reads of the views went to the replica, with the same figures
    assert figures == on_primary
    replica_sql = " ".join(q["sql"] for q in on_replica.captured_queries)
    primary_sql = " ".join(q["sql"] for q in primary.captured_queries)
    for view in (RECON, OPEN, OVERRIDES, META):
        assert view in replica_sql, view
        # and the primary answered only what must be current: who may see which payer
        assert view not in primary_sql, view


def test_a_replica_that_is_down_falls_back_to_the_primary(world, books, replica, caplog):
    actor = world.actor(S.Role.OWNER)
    on_primary = _reports(actor)

    # given a replica that cannot be reached
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        replica(HOST="127.0.0.1", PORT="1")
    else:
        replica(NAME="/nonexistent-dir/replica.sqlite3")

    # then the reports still answer, from the primary, with a warning naming no value
    with caplog.at_level(logging.WARNING, logger="healthbill.db"):
        assert _reports(actor) == on_primary
    warnings = [r for r in caplog.records if r.name == "healthbill.db"]
    assert warnings and warnings[0].getMessage() == (
        "reporting replica unreachable; reading the primary"
    )


def test_migrations_never_run_on_the_replica():
    router = ReportingRouter()
    assert router.allow_migrate(REPORTING, "denials") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "denials") is None


def test_the_replica_alias_is_configured_from_its_url_with_a_short_connect_timeout(monkeypatch):
    import runpy

    from django.conf import settings as live

    monkeypatch.setenv("REPORTING_DATABASE_URL", "postgres://ro@replica.example:5432/hb")
    monkeypatch.setenv("SECRET_KEY", live.SECRET_KEY)
    monkeypatch.setenv("AUDIT_CHAIN_KEY", live.AUDIT_CHAIN_KEY)
    values = runpy.run_path(str(live.BASE_DIR / "config" / "settings.py"))

    replica = values["DATABASES"]["reporting"]
    assert (replica["HOST"], replica["NAME"], replica["USER"]) == ("replica.example", "hb", "ro")
    assert replica["OPTIONS"]["connect_timeout"] == 3  # an unanswering replica: 3 s, then primary
    assert replica["TEST"] == {"MIRROR": "default"}
    assert values["REPORTING_DATABASE"] == REPORTING
