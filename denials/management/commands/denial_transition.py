"""manage.py denial_transition --tenant SLUG --denial ID --to STATE --user USERNAME [--flip]
[--reason TEXT] [--reason-code CODE]

Moves a denial to STATE as USERNAME (a member of the tenant; their scopes apply): the normal
move with its effect (work, resolve, write off, reopen), or with --flip a manual flip (no money
moves; --reason-code from the flip picklist, --reason required). Prints one JSON line
{"denial", "status", "override_request"}: under dual control a reopen or flip waits for a
second person and `override_request` names the request. Errors exit non-zero with a message.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.models import OverrideRequest, TenantMembership
from denials.models import Denial
from denials.services.denial_work import FLIP_REASONS, denial_flip, denial_transition


class Command(BaseCommand):
    help = "Move a denial to a state (the normal move, or a manual flip with --flip)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--denial", required=True, type=int, help="denial id")
        parser.add_argument("--to", required=True, choices=Denial.Status.values)
        parser.add_argument("--user", required=True, help="the member acting (username)")
        parser.add_argument("--flip", action="store_true", help="manual flip: no side effect")
        parser.add_argument("--reason", default="", help="why (write-off, reopen, flip)")
        parser.add_argument(
            "--reason-code", default="", choices=["", *FLIP_REASONS], help="flip reason code"
        )

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        user = get_user_model().objects.filter(username=o["user"]).first()
        if user is None or not TenantMembership.objects.filter(tenant=tenant, user=user).exists():
            raise CommandError(f"--user: '{o['user']}' is not a member of tenant '{tenant.slug}'.")
        actor = Actor(tenant=tenant, user=user)
        try:
            if o["flip"]:
                if not o["reason_code"]:
                    raise CommandError(
                        f"--reason-code: a flip needs one of {', '.join(FLIP_REASONS)}."
                    )
                got = denial_flip(
                    actor=actor,
                    denial_id=o["denial"],
                    to=o["to"],
                    reason_code=o["reason_code"],
                    reason=o["reason"],
                )
            else:
                got = denial_transition(
                    actor=actor, denial_id=o["denial"], to=o["to"], reason=o["reason"]
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        waiting = isinstance(got, OverrideRequest)
        status = Denial.objects.get(pk=o["denial"]).status if waiting else got.status
        self.stdout.write(
            json.dumps(
                {
                    "denial": o["denial"],
                    "status": status,
                    "override_request": got.pk if waiting else None,
                }
            )
        )
