"""manage.py build_claims --tenant SLUG (--charge ID ... | --all-valid)

Builds claims from VALID charges, all of them or none. Prints one JSON line
{"claims": [{"id", "number", "billed_amount", "charges"}], "errors": {charge_id: [problems]}};
when any charge cannot be claimed nothing is built, the errors are listed and the exit code is 1.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from denials.services.claims import claims_build, claims_build_all_valid


class Command(BaseCommand):
    help = "Build claims from VALID charges (named ones, or every unclaimed valid charge)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--charge", action="append", metavar="ID", help="a charge id (repeat)")
        which.add_argument("--all-valid", action="store_true")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        actor = Actor.system_for(tenant)
        try:
            if o["all_valid"]:
                claims = claims_build_all_valid(actor=actor, tenant=tenant)
            else:
                claims = claims_build(actor=actor, tenant=tenant, charge_ids=o["charge"])
        except DomainError as exc:
            errors = exc.details.get("charges") or {"chargeIds": [exc.message]}
            self.stdout.write(json.dumps({"claims": [], "errors": errors}))
            raise CommandError(exc.message) from None
        out = [
            {
                "id": c.pk,
                "number": c.number,
                "billed_amount": str(c.billed_amount),
                "charges": list(
                    c.lines.order_by("line_number").values_list("charge__charge_id", flat=True)
                ),
            }
            for c in claims
        ]
        self.stdout.write(json.dumps({"claims": out, "errors": {}}))
