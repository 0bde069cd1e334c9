"""manage.py trigger_run --tenant SLUG --month YYYY-MM (--payer CODE ... | --all-payers)
[--mode production|simulation] [--regenerate RUN_ID --reason TEXT] [--wait | --sync]

Prints one JSON line {"run", "status", "summary"}; exits 1 when the run FAILED.
"""

import json
import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.models import BillingRun
from billing.services import runs
from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.months import MonthError, parse_month
from core.transitions import state_reload


class Command(BaseCommand):
    help = "Trigger (or regenerate) a billing run."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--month", help="YYYY-MM (default: the current month)")
        who = parser.add_mutually_exclusive_group()
        who.add_argument(
            "--payer",
            action="extend",
            nargs="+",
            default=[],
            metavar="CODE",
            help="payer code(s): --payer A B, or --payer A --payer B",
        )
        who.add_argument("--all-payers", action="store_true")
        parser.add_argument("--mode", choices=["production", "simulation"], default="production")
        parser.add_argument("--regenerate", type=int, metavar="RUN_ID")
        parser.add_argument("--reason", default="")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--wait", action="store_true", help="queue for workers, wait for the end")
        how.add_argument("--sync", action="store_true", help="run here, no worker needed")
        parser.add_argument("--timeout", type=int, default=3600)

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        actor = Actor.system_for(tenant)
        try:
            if o["regenerate"]:
                run = runs.billing_run_regenerate(
                    actor=actor, run_id=o["regenerate"], reason=o["reason"], enqueue=not o["sync"]
                )
            else:
                if not o["payer"] and not o["all_payers"]:
                    raise CommandError("Name payers with --payer CODE, or use --all-payers.")
                month = _month(o["month"])
                run = runs.billing_run_trigger(
                    actor=actor,
                    month=month,
                    payers="all" if o["all_payers"] else o["payer"],
                    mode=o["mode"].upper(),
                    reason=o["reason"],
                    enqueue=not o["sync"],
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if o["sync"]:
            run = runs.billing_run_execute(run_id=run.pk)
        elif o["wait"]:
            deadline = time.monotonic() + o["timeout"]
            while run.is_active and time.monotonic() < deadline:
                time.sleep(0.5)
                state_reload(run)
        state_reload(run)
        self.stdout.write(json.dumps({"run": run.pk, "status": run.status, "summary": run.summary}))
        if run.status == BillingRun.Status.FAILED:
            raise SystemExit(1)


def _month(text: str | None) -> date:
    if not text:
        return date.today().replace(day=1)
    try:
        return parse_month(text)
    except MonthError as exc:
        raise CommandError(f"--month: {exc}.") from None
