"""manage.py refresh_reporting_views: refresh the claims reconciliation and aging views."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from denials.services.reporting import reporting_views_refresh


class Command(BaseCommand):
    help = (
        "Refresh the claims reporting views (PostgreSQL: materialized views, CONCURRENTLY; "
        "SQLite: tables); prints one JSON line with the row counts and seconds."
    )

    def handle(self, *args, **opts):
        self.stdout.write(json.dumps(reporting_views_refresh()))
