"""manage.py export_837 --tenant SLUG (--claim NUMBER ... | --all-built) [-o FILE].

Writes BUILT claims into one 837P interchange (005010X222A1); the claims become SUBMITTED.
The file goes to FILE (or standard output); a summary line goes to standard error.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.models import Tenant
from denials.services.x12_export import claims_export_837


class Command(BaseCommand):
    help = "Write BUILT claims into an 837P interchange; they become SUBMITTED."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--claim", action="append", metavar="NUMBER", help="claim number")
        which.add_argument("--all-built", action="store_true", help="every BUILT claim")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, tenant, claim, all_built, output, **opts):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"--tenant: no tenant '{tenant}'.")
        try:
            x = claims_export_837(
                actor=Actor.system_for(found),
                tenant=found,
                claim_numbers=claim,
                all_built=all_built,
            )
        except DomainError as exc:
            detail = f" {json.dumps(exc.details, sort_keys=True)}" if exc.details else ""
            raise CommandError(f"{exc.message}{detail}") from exc
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.write(x.content)
        else:
            self.stdout.write(x.content)
        self.stderr.write(
            f"interchange {x.interchange_control_number}: {x.claim_count} claims, "
            f"{x.total_billed} billed" + (f", written to {output}" if output else "")
        )
