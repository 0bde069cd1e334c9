"""manage.py verify_audit_chain [--tenant SLUG]: exit 1 and name the first broken entry."""

import json

from django.core.management.base import BaseCommand, CommandError

from core.audit import verify_chain
from core.management.commands._base import tenant_or_error
from core.models import Tenant


class Command(BaseCommand):
    help = "Recompute each tenant's audit chain; name the first entry that breaks it."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant")
        parser.add_argument("--json", action="store_true", help="one JSON line per tenant")

    def handle(self, *args, tenant, **opts):
        tenants = [tenant_or_error(tenant)] if tenant else list(Tenant.objects.all())
        broken = []
        for t in tenants:
            report = verify_chain(t)
            if opts["json"]:
                self.stdout.write(_dumps(report.as_dict()))
            elif report.ok:
                self.stdout.write(f"{t.slug}: OK ({report.entries} entries)")
            else:
                self.stdout.write(
                    f"{t.slug}: BROKEN at entry #{report.broken_seq}"
                    + (f" (row id {report.broken_id})" if report.broken_id else "")
                    + f": {report.problem}"
                )
            if not report.ok:
                broken.append(t.slug)
        if broken:
            raise CommandError(f"audit chain broken for: {', '.join(broken)}")


def _dumps(data) -> str:
    return json.dumps(data)
