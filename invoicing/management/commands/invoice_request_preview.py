"""manage.py invoice_request_preview --tenant SLUG --type CODE --account NUMBER
--business-date YYYY-MM-DD

Prints one JSON line {"processing_date", "cutoff_date", "bill_date", "accounting_date",
"processing_mode"} and creates nothing (for a MANUAL type the business date stands for today).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import date_arg, tenant_or_error
from invoicing.management.commands._common import account_or_error, request_type_or_error
from invoicing.services.requests import invoice_request_preview


class Command(BaseCommand):
    help = "Show the dates and processing mode an invoice request would get."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--type", required=True, metavar="CODE")
        parser.add_argument("--account", required=True, metavar="NUMBER")
        parser.add_argument("--business-date", required=True, metavar="YYYY-MM-DD")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        business_date = date_arg("--business-date", o["business_date"])
        request_type = request_type_or_error(tenant, o["type"])
        account = account_or_error(tenant, o["account"])
        try:
            found = invoice_request_preview(
                actor=Actor.system_for(tenant),
                type=request_type,
                account=account,
                business_date=business_date,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(found.as_dict()))
