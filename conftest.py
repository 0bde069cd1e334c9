"""Test-wide setup: synchronous tasks, PostgreSQL test housekeeping, tenants and their people."""

import os

os.environ.setdefault("Q_SYNC", "1")  # django-q2 reads Q_CLUSTER once, at import
os.environ.setdefault("DEBUG", "true")

import pytest  # noqa: E402
from django.db.backends.signals import connection_created  # noqa: E402


def _allow_truncate(sender, connection, **kwargs):
    # The audit table refuses TRUNCATE; the suite flushes tables between transactional tests.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET healthbill.audit_allow_truncate = 'on'")


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


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(
            reason="needs PostgreSQL (row locks, triggers, concurrent sessions); "
            "run with DATABASE_URL=postgres://... (CI does)"
        )
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


def pytest_report_header(config):
    from django.db import connection

    return f"database: {connection.vendor}"


from tests.fixtures import *  # noqa: E402, F403
