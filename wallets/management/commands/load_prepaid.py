"""manage.py load_prepaid --tenant SLUG [--file] FILE.json: wallets, subscriptions, services and
usage, and the pricing sections (tax classes, products, bundles, price plans, discounts, wallet
definition).

All or nothing and idempotent (see wallets.services.loading). Prints one JSON line
{"wallets", "subscriptions", "services", "usage", "created": {...}, "updated": {...}}; an
invalid file lists every error by path on stderr and exits non-zero with nothing written.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from wallets.services.loading import prepaid_load


class Command(BaseCommand):
    help = "Load prepaid wallets, subscriptions, services, usage and pricing from a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("file", metavar="FILE.json", nargs="?")
        parser.add_argument("--file", dest="file_option", metavar="FILE.json", help="the file")

    def handle(self, *args, tenant, file, file_option=None, **opts):
        t = tenant_or_error(tenant)
        if (file is None) == (file_option is None):
            raise CommandError("Give the file once: load_prepaid --tenant SLUG --file FILE.json.")
        file = file or file_option
        try:
            # money stays Decimal: a float never gets near an amount
            data = json.loads(Path(file).read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{file}: cannot read JSON ({exc}).") from None
        try:
            counters = prepaid_load(actor=Actor.system_for(t), data=data)
        except DomainError as exc:
            errors = exc.details.get("errors") if isinstance(exc.details, dict) else None
            if errors:
                lines = "\n".join(f"  {e}" for e in errors)
                raise CommandError(
                    f"{file}: {len(errors)} error(s), nothing was loaded:\n{lines}"
                ) from exc
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(counters))
