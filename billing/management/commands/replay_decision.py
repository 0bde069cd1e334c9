"""manage.py replay_decision --decision ID --rule-version VERSION: old vs new, as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from billing.models import Decision
from billing.services.replay import decision_replay
from core.actors import Actor
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Re-evaluate one decision under another rule version of its payer (audited)."

    def add_arguments(self, parser):
        parser.add_argument("--decision", type=int, required=True)
        parser.add_argument("--rule-version", required=True)

    def handle(self, *args, decision, rule_version, **opts):
        obj = Decision.objects.filter(pk=decision).select_related("tenant").first()
        if obj is None:
            raise CommandError(f"No decision {decision}.")
        try:
            result = decision_replay(
                actor=Actor.system_for(obj.tenant), decision_id=decision, rule_version=rule_version
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(result, indent=2))
