"""manage.py wallet_show --tenant SLUG --account NUMBER [--currency CUR]

Prints one JSON line {"balance", "available", "estimated_consumption_days",
"estimated_consumption_date", "transactions": [{"kind", "amount", "service"}],
"services": [{"external_id", "prepayment_state", "rated_up_to"}]}: money as "12.50", dates
ISO, transactions oldest first, service = its external id or null.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from wallets.selectors import (
    service_list,
    transaction_list,
    wallet_available,
    wallet_for_account,
)


class Command(BaseCommand):
    help = "Show an account's wallet: balance, estimate, ledger and services."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--account", required=True, metavar="NUMBER")
        parser.add_argument("--currency", default=None, help="needed if the account has several")

    def handle(self, *args, **o):
        actor = Actor.system_for(tenant_or_error(o["tenant"]))
        try:
            wallet = wallet_for_account(
                actor=actor, account_number=o["account"], currency=o["currency"]
            )
            rows = transaction_list(actor=actor, wallet_id=wallet.pk).order_by("id")
            services = service_list(actor=actor, account_id=wallet.account_id)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        day = wallet.estimated_consumption_date
        out = {
            "balance": str(wallet.balance),
            "available": str(wallet_available(wallet)),
            "estimated_consumption_days": wallet.estimated_consumption_days,
            "estimated_consumption_date": day.isoformat() if day else None,
            "transactions": [
                {
                    "kind": t.kind,
                    "amount": str(t.amount),
                    "service": t.service.external_id if t.service_id else None,
                }
                for t in rows
            ],
            "services": [
                {
                    "external_id": s.external_id,
                    "prepayment_state": s.prepayment_state,
                    "rated_up_to": s.rated_up_to.isoformat() if s.rated_up_to else None,
                }
                for s in services
            ],
        }
        self.stdout.write(json.dumps(out))
