"""manage.py reject_invoice_request --tenant SLUG --request ID --user USERNAME --reason TEXT

Rejects a request waiting for approval. Prints one JSON line {"request", "status", "reason"}.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from invoicing.management.commands._common import user_actor
from invoicing.services.requests import invoice_request_reject


class Command(BaseCommand):
    help = "Reject an invoice request waiting for approval."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--request", required=True, type=int, metavar="ID")
        parser.add_argument("--user", required=True, metavar="USERNAME")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        actor = user_actor(tenant, o["user"])
        try:
            request = invoice_request_reject(
                actor=actor, request_id=o["request"], reason=o["reason"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            json.dumps(
                {"request": request.pk, "status": request.status, "reason": request.decided_reason}
            )
        )
