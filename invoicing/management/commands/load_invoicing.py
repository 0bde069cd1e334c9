"""manage.py load_invoicing --tenant SLUG FILE.json: invoicing configuration from a file.

Calendars, divisions, request types, the feature configuration and accounts with memberships
(shape in invoicing/services/config.py). Idempotent, all or nothing: a file with problems prints
each one by path on stderr, exits 1 and writes nothing. Prints one JSON line of counts.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.management.commands._base import json_file_or_error, tenant_or_error
from invoicing.services.config import ConfigInvalid, invoicing_config_load


class Command(BaseCommand):
    help = "Load the invoicing configuration from a JSON file (idempotent, all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("file")

    def handle(self, *args, tenant, file, **opts):
        t = tenant_or_error(tenant)
        data = json_file_or_error(file)
        try:
            counts = invoicing_config_load(actor=Actor.system_for(t), data=data)
        except ConfigInvalid as exc:
            for line in exc.violations:
                self.stderr.write(line)
            raise CommandError(exc.message) from None
        self.stdout.write(json.dumps(counts, sort_keys=True))
