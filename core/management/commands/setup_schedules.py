"""manage.py setup_schedules: create the django-q2 schedules (removed when JOBS_DISABLED)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from config.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the periodic jobs; deletes them when JOBS_DISABLED is set."

    def handle(self, *args, **opts):
        names = ensure_schedules(enabled=not settings.JOBS_DISABLED)
        self.stdout.write(f"schedules: {', '.join(names) if names else 'none (JOBS_DISABLED)'}")
