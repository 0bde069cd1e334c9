"""manage.py load_demo: the demo tenant, one user per role, and every app's demo data."""

import os

from django.core.management.base import BaseCommand

from core.demo import DEMO_PASSWORD, DEMO_SUPERUSER, DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Create or refresh the demo tenant and data (idempotent)."

    def handle(self, *args, **opts):
        self.stdout.write("Loading demo data:")
        tenant = load_demo(stdout_write=self.stdout.write)
        # scripts/serve.sh (make demo) listens on PORT, 8000 unless set
        base = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/"
        self.stdout.write(f"\nDemo tenant '{tenant.slug}' is ready. Sign in at {base} as:")
        for username, role in DEMO_USERS:
            self.stdout.write(f"  {username:<14} {role:<16} password: {DEMO_PASSWORD}")
        self.stdout.write(
            f"Django admin ({base}admin/): {DEMO_SUPERUSER} (superuser), password: {DEMO_PASSWORD}"
        )
