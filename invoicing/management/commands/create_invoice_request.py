"""manage.py create_invoice_request --tenant SLUG --type CODE --account NUMBER --user USERNAME
[--cutoff D --bill-date D --accounting-date D] [--today D]

Creates a manual invoice request as the user and prints one JSON line {"request", "status",
"processing_date", "processing_mode", "bill"}; `bill` is {"id", "kind", "lines", "total"} when
the request was processed at once, else null.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.exceptions import DomainError
from core.management.commands._base import date_arg, tenant_or_error
from invoicing.management.commands._common import (
    account_or_error,
    request_type_or_error,
    user_actor,
)
from invoicing.models import InvoiceRequest
from invoicing.services.processing import bill_summary
from invoicing.services.requests import invoice_request_create


class Command(BaseCommand):
    help = "Create a manual invoice request."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--type", required=True, metavar="CODE")
        parser.add_argument("--account", required=True, metavar="NUMBER")
        parser.add_argument("--user", required=True, metavar="USERNAME")
        parser.add_argument("--cutoff", metavar="YYYY-MM-DD")
        parser.add_argument("--bill-date", metavar="YYYY-MM-DD")
        parser.add_argument("--accounting-date", metavar="YYYY-MM-DD")
        parser.add_argument("--today", metavar="YYYY-MM-DD")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        cutoff = date_arg("--cutoff", o["cutoff"])
        bill_date = date_arg("--bill-date", o["bill_date"])
        accounting_date = date_arg("--accounting-date", o["accounting_date"])
        today = date_arg("--today", o["today"]) or timezone.localdate()
        actor = user_actor(tenant, o["user"])
        request_type = request_type_or_error(tenant, o["type"])
        account = account_or_error(tenant, o["account"])
        try:
            request = invoice_request_create(
                actor=actor,
                type=request_type,
                account=account,
                cutoff_date=cutoff,
                bill_date=bill_date,
                accounting_date=accounting_date,
                today=today,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        request = InvoiceRequest.objects.select_related("bill").get(pk=request.pk)
        self.stdout.write(
            json.dumps(
                {
                    "request": request.pk,
                    "status": request.status,
                    "processing_date": request.processing_date.isoformat(),
                    "processing_mode": request.processing_mode,
                    "bill": bill_summary(request.bill),
                }
            )
        )
