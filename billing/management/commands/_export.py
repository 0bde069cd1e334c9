"""Shared body of export_roster and export_decisions."""

import sys

from django.core.management.base import BaseCommand, CommandError

from billing.models import BillingRun
from billing.services.exports import export_lines
from core.actors import Actor
from core.exceptions import DomainError


class ExportCommand(BaseCommand):
    kind = "roster"

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True)
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, run, output, **opts):
        obj = BillingRun.objects.filter(pk=run).select_related("tenant").first()
        if obj is None:
            raise CommandError(f"No billing run {run}.")
        try:
            lines = export_lines(actor=Actor.system_for(obj.tenant), run=obj, kind=self.kind)
            if output:
                with open(output, "w", encoding="utf-8", newline="") as fh:
                    fh.writelines(lines)
                self.stderr.write(f"wrote {output}")
            else:
                for line in lines:
                    sys.stdout.write(line)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
