"""manage.py load_rules --tenant SLUG FILE.json: rule versions (and payers) from a file.

The file holds one object or a list of {"payer": {"code", "name"}, "version", "effective_from",
"status", "params"}. Loading the same file again changes nothing.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.services.rules import rules_load
from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import json_file_or_error, tenant_or_error


class Command(BaseCommand):
    help = "Load rule versions from a JSON file (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("file")

    def handle(self, *args, tenant, file, **opts):
        t = tenant_or_error(tenant)
        data = json_file_or_error(file)
        entries = data if isinstance(data, list) else [data]
        try:
            for line in rules_load(actor=Actor.system_for(t), entries=entries):
                self.stdout.write(line)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
