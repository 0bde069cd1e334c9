"""manage.py validate_charges --tenant SLUG [--charge ID ...] [--today YYYY-MM-DD]

Validates charges again (default: every PENDING or INVALID one not on a claim). Prints one JSON
line of counts {"checked", "valid", "invalid", "unknown", "claimed"}.
"""

import json

from django.core.management.base import BaseCommand

from core.actors import Actor
from core.management.commands._base import date_arg, tenant_or_error
from denials.services.charges import charges_validate


class Command(BaseCommand):
    help = "Validate charges again (after upstream fixes: members or payers loaded since)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--charge", action="append", metavar="ID", help="a charge id (repeat)")
        parser.add_argument("--today", metavar="YYYY-MM-DD", help="the day future dates count from")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        today = date_arg("--today", o["today"])
        counts = charges_validate(
            actor=Actor.system_for(tenant), tenant=tenant, charge_ids=o["charge"], today=today
        )
        self.stdout.write(json.dumps(counts))
