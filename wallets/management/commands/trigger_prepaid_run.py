"""manage.py trigger_prepaid_run --tenant SLUG --as-of YYYY-MM-DD [--account NUMBER ...]
[--estimation skip|all|changed] [--recurring-days N] [--wait | --sync] [--timeout SECONDS]
[--verbose]

Prints one JSON line {"run", "status", "rated", "debited", "invalid", "errors"}; with --verbose
also "items": the run's rated items [{"service", "start", "end", "net", "discount", "vat",
"gross", "kind"}] (money and dates as strings), ordered by service, start and kind. Exits 1 when
the run FAILED.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import date_arg, tenant_or_error
from core.transitions import state_reload
from wallets.models import PrepaidBillingRun, RatedItem
from wallets.services import runs


class Command(BaseCommand):
    help = "Trigger a prepaid billing run (identification, rating, wallet debiting) as of a date."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--account",
            action="extend",
            nargs="+",
            default=[],
            metavar="NUMBER",
            help="account number(s): --account A B, or --account A --account B (default: all)",
        )
        parser.add_argument("--estimation", choices=["skip", "all", "changed"], default="skip")
        parser.add_argument("--recurring-days", type=int, metavar="N")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--wait", action="store_true", help="queue for workers, wait for the end")
        how.add_argument("--sync", action="store_true", help="run here, no worker needed")
        parser.add_argument("--timeout", type=int, default=3600, help="seconds --wait waits")
        parser.add_argument(
            "--verbose",
            action="store_true",
            help="add the run's items (net, discount, VAT, gross) to the output",
        )

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        as_of = date_arg("--as-of", o["as_of"])
        try:
            run = runs.prepaid_run_trigger(
                actor=Actor.system_for(tenant),
                as_of=as_of,
                accounts=o["account"],
                estimation=o["estimation"].upper(),
                recurring_interval_days=o["recurring_days"],
                enqueue=not o["sync"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if o["sync"]:
            run = runs.prepaid_run_execute(run_id=run.pk)
        elif o["wait"]:
            deadline = time.monotonic() + o["timeout"]
            while run.is_active and time.monotonic() < deadline:
                time.sleep(0.5)
                state_reload(run)
        state_reload(run)
        out = {
            "run": run.pk,
            "status": run.status,
            "rated": run.rated_count,
            "debited": f"{run.debited_total:.2f}",
            "invalid": run.invalid_count,
            "errors": run.errors_count,
        }
        if o["verbose"]:
            out["items"] = _items(run)
        self.stdout.write(json.dumps(out))
        if run.status == PrepaidBillingRun.Status.FAILED:
            raise SystemExit(1)
        if o["wait"] and run.is_active:
            raise CommandError(
                f"--wait: run {run.pk} is still {run.status} after {o['timeout']} s "
                "(is a worker running?)"
            )


def _items(run: PrepaidBillingRun) -> list[dict]:
    """The run's rated items, each with its breakdown (no PHI: the service's external id)."""
    return [
        {
            "service": service,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "net": f"{net:.2f}",
            "discount": f"{discount:.2f}",
            "vat": f"{vat:.2f}",
            "gross": f"{gross:.2f}",
            "kind": kind,
        }
        for service, start, end, net, discount, vat, gross, kind in RatedItem.objects.filter(
            run=run
        )
        .order_by("service__external_id", "start", "kind", "id")
        .values_list(
            "service__external_id", "start", "end", "net", "discount", "vat", "gross", "kind"
        )
    ]
