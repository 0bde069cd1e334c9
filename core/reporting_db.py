"""Reporting reads on a PostgreSQL replica (docs/operations.md, issue 17 item 4).

The reconciliation, aging and override reports read the reporting views, which the nightly job
refreshes on the primary and streaming replication copies to a replica. With
`REPORTING_DATABASE_URL` set (the replica, a read-only role), those reads go to the database
alias `reporting`; without it they go to `default`. Nothing else reads there: a replica lags
its primary, and the reports already say when their views were refreshed, so a lag of seconds
changes nothing they show, while a screen that just wrote something must read it back from the
primary.

A replica that cannot be reached does not take the reports down: the read falls back to the
primary and logs a warning (no query values, no PHI).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError

REPORTING = "reporting"
log = logging.getLogger("healthbill.db")


def reporting_alias() -> str:
    """The database alias reporting reads use: the replica where one is configured."""
    return settings.REPORTING_DATABASE


@contextmanager
def reporting_cursor() -> Iterator:
    """A cursor on the reporting replica (or on the primary where none is set or reachable)."""
    alias = reporting_alias()
    if alias != DEFAULT_DB_ALIAS:
        try:
            connections[alias].ensure_connection()
        except OperationalError as exc:
            log.warning(
                "reporting replica unreachable; reading the primary",
                extra={"alias": alias, "error": type(exc).__name__},
            )
            alias = DEFAULT_DB_ALIAS
    with connections[alias].cursor() as cursor:
        yield cursor


class ReportingRouter:
    """Keeps migrations off the replica (it follows the primary's schema by replication)."""

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPORTING else None
