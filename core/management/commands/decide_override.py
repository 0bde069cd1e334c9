"""manage.py decide_override --tenant SLUG --request ID --user USERNAME --approve|--reject
[--note TEXT]

A second person decides on an override request under dual control, from a terminal: approving
carries the action out at once. The same service as the approvals screen, the API and the admin,
so the requester is refused (a second person must decide), as are expired requests and people
without the request's scope. Prints one JSON line {"request", "action", "status",
"requested_by", "decided_by", "result"}; a refusal exits non-zero with its message.
"""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.models import OverrideRequest
from core.overrides import override_request_approve, override_request_reject


class Command(BaseCommand):
    help = "Approve or reject an override request waiting for a second person."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--request", required=True, type=int, metavar="ID")
        parser.add_argument("--user", required=True, metavar="USERNAME")
        decision = parser.add_mutually_exclusive_group(required=True)
        decision.add_argument("--approve", action="store_true")
        decision.add_argument("--reject", action="store_true")
        parser.add_argument("--note", default="", help="why (required to reject)")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user '{o['user']}'.")
        actor = Actor(tenant=tenant, user=user)
        try:
            if o["approve"]:
                override_request_approve(actor=actor, request_id=o["request"], note=o["note"])
            else:
                override_request_reject(actor=actor, request_id=o["request"], note=o["note"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        request = OverrideRequest.objects.select_related("requested_by", "decided_by").get(
            pk=o["request"]
        )
        self.stdout.write(
            json.dumps(
                {
                    "request": request.pk,
                    "action": request.action,
                    "status": request.status,
                    "requested_by": request.requested_by.get_username(),
                    "decided_by": request.decided_by.get_username() if request.decided_by else None,
                    "result": request.result,
                },
                default=str,
            )
        )
