"""manage.py topup_wallet --tenant SLUG --account NUMBER --amount 50.00 --reference TEXT
--user USERNAME [--currency CUR]

Credits the account's wallet as the user (scope wallets.topup through the user's membership).
Prints one JSON line {"wallet", "transaction", "amount", "balance"}.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from wallets.selectors import wallet_for_account
from wallets.services.ledger import wallet_topup


class Command(BaseCommand):
    help = "Top up an account's wallet as a user."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--account", required=True, metavar="NUMBER")
        parser.add_argument("--amount", required=True, help="e.g. 50.00")
        parser.add_argument("--reference", required=True, help="payment reference (<= 120)")
        parser.add_argument("--user", required=True, metavar="USERNAME")
        parser.add_argument("--currency", default=None, help="needed if the account has several")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        user = get_user_model().objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user '{o['user']}'.")
        actor = Actor(tenant=tenant, user=user)
        if not actor.has(S.WALLETS_TOPUP):
            raise CommandError(f"--user: '{o['user']}' may not top up wallets in this tenant.")
        try:
            wallet = wallet_for_account(
                actor=actor, account_number=o["account"], currency=o["currency"]
            )
            tx = wallet_topup(
                actor=actor, wallet_id=wallet.pk, amount=o["amount"], reference=o["reference"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        out = {
            "wallet": wallet.pk,
            "transaction": tx.pk,
            "amount": str(tx.amount),
            "balance": str(tx.balance_after),
        }
        self.stdout.write(json.dumps(out))
