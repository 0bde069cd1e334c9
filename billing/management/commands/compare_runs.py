"""manage.py compare_runs --run A --with B: one JSON line of totals, changes and transitions."""

import json

from django.core.management.base import BaseCommand, CommandError

from billing import comparison
from billing.models import BillingRun
from core.actors import Actor
from core.exceptions import DomainError

BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Compare run A with run B of the same tenant and month: members, billable members and "
        "total charge of each (a, b, delta = a - b), changed member-months and class transitions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True, help="the run looked at (a)")
        parser.add_argument("--with", dest="other", type=int, required=True, help="baseline (b)")

    def handle(self, *args, run, other, **opts):
        obj = BillingRun.objects.filter(pk=run).select_related("tenant").first()
        if obj is None:
            raise CommandError(f"--run: no billing run {run}.", returncode=BAD_INPUT)
        actor = Actor.system_for(obj.tenant)
        try:
            pair = comparison.comparison_pair(actor, obj, other)
        except DomainError as exc:
            message = exc.message.replace("with: ", "--with: ", 1)
            raise CommandError(message, returncode=BAD_INPUT) from exc
        tally, _ = comparison.comparison_scan(actor, pair)
        result = comparison.comparison_summary(tally, pair)
        result.pop("matrix")
        self.stdout.write(json.dumps(result))
