"""manage.py validate_charges --tenant SLUG [--charge ID ...] [--today YYYY-MM-DD]

Validates charges again (default: every PENDING or INVALID one not on a claim). Prints one JSON
line of counts {"checked", "valid", "invalid", "unknown", "claimed"}.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.management.commands._base import tenant_or_error
from core.months import MonthError, parse_date
from denials.services.charges import charges_validate


class Command(BaseCommand):
    help = "Validate charges again (after upstream fixes: members or payers loaded since)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--charge", action="append", metavar="ID", help="a charge id (repeat)")
        parser.add_argument("--today", metavar="YYYY-MM-DD", help="the day future dates count from")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        today = None
        if o["today"] is not None:
            try:
                today = parse_date(o["today"])
            except MonthError as exc:
                raise CommandError(f"--today: {exc}, found {o['today']!r}.") from None
        counts = charges_validate(
            actor=Actor.system_for(tenant), tenant=tenant, charge_ids=o["charge"], today=today
        )
        self.stdout.write(json.dumps(counts))
