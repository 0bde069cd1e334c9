"""manage.py approve_invoice_request --tenant SLUG --request ID --user USERNAME

Approves a request waiting for approval as the user (four-eyes: not its creator, and holding
invoicing.request.approve). Prints one JSON line {"request", "status", "approved_by", "bill"}.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from invoicing.management.commands._common import user_actor
from invoicing.models import InvoiceRequest
from invoicing.services.processing import bill_summary
from invoicing.services.requests import invoice_request_approve


class Command(BaseCommand):
    help = "Approve an invoice request (four-eyes)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--request", required=True, type=int, metavar="ID")
        parser.add_argument("--user", required=True, metavar="USERNAME")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        actor = user_actor(tenant, o["user"])
        try:
            request = invoice_request_approve(actor=actor, request_id=o["request"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        request = InvoiceRequest.objects.select_related("bill", "approved_by").get(pk=request.pk)
        self.stdout.write(
            json.dumps(
                {
                    "request": request.pk,
                    "status": request.status,
                    "approved_by": request.approved_by.get_username(),
                    "bill": bill_summary(request.bill),
                }
            )
        )
