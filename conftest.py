"""Test-wide setup: synchronous tasks, PostgreSQL test housekeeping, tenants and their people."""

import os

os.environ.setdefault("Q_SYNC", "1")  # django-q2 reads Q_CLUSTER once, at import
os.environ.setdefault("DEBUG", "true")

import pytest  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402


def _allow_truncate(sender, connection, **kwargs):
    # The audit table refuses TRUNCATE; the suite flushes tables between transactional tests.
    # A test database needs no durable commits: not waiting for the WAL flush at each commit
    # saves CI time (what other sessions see is unchanged).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET healthbill.audit_allow_truncate = 'on'")
            cursor.execute("SET synchronous_commit = off")


connection_created.connect(_allow_truncate)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rolled-back tests reuse ids: a cached read must not outlive the test that filled it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def pytest_configure(config):
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _sqlite_flush_decisions_first()


def _sqlite_flush_decisions_first():
    # SQLite empties tables between transactional tests with DELETE FROM in no set order, and a
    # fact row refuses deletion while a decision of its member exists (billing migration 0012):
    # delete the decisions first. (PostgreSQL truncates, which fires no row trigger.)
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    operations = type(connection.ops)
    flush = operations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        return sorted(
            flush(self, style, tables, **kwargs), key=lambda sql: '"billing_decision"' not in sql
        )

    operations.sql_flush = sql_flush


# Database-independent suites that are slow: the browser tests (each empties every table twice)
# and the generated authorization walks (every endpoint x role x tenant x payer grant, every write
# endpoint, every admin form and page). CI runs them in the SQLite pass of `make test`; the
# PostgreSQL pass skips them (saying so) unless ALL_ON_POSTGRES=1, so `.ci/run` stays within its
# time. Every app's own API and screen tests still run on both databases.
ONCE_PER_CI = (
    "tests/e2e/",
    "tests/test_mass_assignment",
    "tests/test_url_coverage",
    "tests/test_permission_matrix.py",
)


def pytest_collection_modifyitems(config, items):
    import os

    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(
            reason="needs PostgreSQL (row locks, triggers, concurrent sessions); "
            "run with DATABASE_URL=postgres://... (CI does)"
        )
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
    elif os.environ.get("ALL_ON_POSTGRES") != "1":
        once = pytest.mark.skip(
            reason="database-independent and slow: runs in the SQLite pass of `make test` "
            "(set ALL_ON_POSTGRES=1 to run it on PostgreSQL too)"
        )
        for item in items:
            if item.nodeid.startswith(ONCE_PER_CI):
                item.add_marker(once)


def pytest_report_header(config):
    from django.db import connection

    return f"database: {connection.vendor}"


from tests.fixtures import *  # noqa: E402, F403
