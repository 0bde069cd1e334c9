"""manage.py process_invoice_requests --tenant SLUG --business-date YYYY-MM-DD

Processes every PENDING request (online or deferred) whose processing date is on or before the
business date. Prints one JSON line {"processed": [{"request", "bill", "kind", "lines",
"total"}], "errors": [{"request", "error"}]}.
"""

import json

from django.core.management.base import BaseCommand

from core.management.commands._base import date_arg, tenant_or_error
from invoicing.services.processing import invoice_requests_process_due


class Command(BaseCommand):
    help = "Process the invoice requests due on a business date."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--business-date", required=True, metavar="YYYY-MM-DD")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        business_date = date_arg("--business-date", o["business_date"])
        result = invoice_requests_process_due(tenant=tenant, business_date=business_date)
        self.stdout.write(json.dumps(result))
