"""manage.py close_month --tenant SLUG --payer CODE --month YYYY-MM [--note TEXT]
[--confirm-open-exceptions N]  |  --reopen CLOSE_ID --reason TEXT

Closes a payer's month on its authoritative production run (or reopens a close) and prints one
JSON line {"month_close", "payer", "month", "status", "run", "members", "amount",
"open_exceptions"}. Reopening from a command is refused when the tenant puts
billing.run.trigger under dual control (a person must ask, and another approve).
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.models import MonthClose
from billing.services import closes
from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.months import MonthError, parse_month


class Command(BaseCommand):
    help = "Close a payer's billing month (or reopen a close)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--payer", metavar="CODE")
        parser.add_argument("--month", help="YYYY-MM")
        parser.add_argument("--note", default="")
        parser.add_argument("--confirm-open-exceptions", type=int, metavar="N")
        parser.add_argument("--reopen", type=int, metavar="CLOSE_ID")
        parser.add_argument("--reason", default="")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        actor = Actor.system_for(tenant)
        try:
            if o["reopen"]:
                closes.month_reopen(actor=actor, close_id=o["reopen"], reason=o["reason"])
                close = MonthClose.objects.get(pk=o["reopen"], tenant=tenant)
            else:
                if not o["payer"] or not o["month"]:
                    raise CommandError("Name the payer and month: --payer CODE --month YYYY-MM.")
                close = closes.month_close(
                    actor=actor,
                    payer_code=o["payer"],
                    month=_month(o["month"]),
                    note=o["note"],
                    confirm_open_exceptions=o["confirm_open_exceptions"],
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            json.dumps(
                {
                    "month_close": close.pk,
                    "payer": close.payer.code,
                    "month": f"{close.month:%Y-%m}",
                    "status": close.status,
                    "run": close.run_id,
                    "members": close.members,
                    "amount": str(close.amount),
                    "open_exceptions": close.open_exceptions,
                }
            )
        )


def _month(text: str) -> date:
    try:
        return parse_month(text)
    except MonthError as exc:
        raise CommandError(f"--month: {exc}.") from None
