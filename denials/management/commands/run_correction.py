"""manage.py run_correction --tenant SLUG --denial ID --user USERNAME [--handler NAME]
[--force --reason TEXT [--reason-code CODE]]

Runs an auto-correction handler on a denial as the user (billing.auto-correction.run); the
same facts return the stored attempt (`reused`). --force runs again whatever is stored, as an
override (billing.auto-correction.override, a reason; under dual control it waits for a second
person). Prints one JSON line {"attempt", "handler", "outcome", "reused", "corrected_claim",
"override_request"}.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.models import OverrideRequest
from denials.services.corrections import (
    FORCE_RETRY_REASONS,
    correction_force_retry,
    correction_run,
)


class Command(BaseCommand):
    help = "Run (or force-retry) auto-correction on a denial."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--denial", required=True, type=int, metavar="ID")
        parser.add_argument("--user", required=True, metavar="USERNAME")
        parser.add_argument("--handler", default=None, help="default: the first for the CARC")
        parser.add_argument("--force", action="store_true", help="run whatever is stored")
        parser.add_argument("--reason", default="", help="why (required with --force)")
        parser.add_argument(
            "--reason-code",
            default="stale_rule",
            choices=list(FORCE_RETRY_REASONS),
            help="force-retry reason (default stale_rule)",
        )

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user '{o['user']}'.")
        actor = Actor(tenant=tenant, user=user)
        if o["reason"] and not o["force"]:
            raise CommandError("--reason goes with --force.")
        try:
            if o["force"]:
                got = correction_force_retry(
                    actor=actor,
                    denial_id=o["denial"],
                    handler=o["handler"],
                    reason=o["reason"],
                    reason_code=o["reason_code"],
                )
            else:
                got = correction_run(actor=actor, denial_id=o["denial"], handler=o["handler"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if isinstance(got, OverrideRequest):
            out = {
                "attempt": None,
                "handler": got.payload.get("handler"),
                "outcome": None,
                "reused": False,
                "corrected_claim": None,
                "override_request": got.pk,
            }
        else:
            out = {
                "attempt": got.pk,
                "handler": got.handler,
                "outcome": got.outcome,
                "reused": bool(getattr(got, "reused", False)),
                "corrected_claim": got.corrected_claim.number if got.corrected_claim_id else None,
                "override_request": None,
            }
        self.stdout.write(json.dumps(out))
