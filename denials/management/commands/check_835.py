"""manage.py check_835 --tenant SLUG FILE [--payer CODE]

Reads an 835 as the REMITTANCE upload would, stores nothing, and prints one JSON line: the
payments (trace, payer, BPR02, claims, paid, warnings) and the records that would ERROR, or
{"refused": "..."} and exit code 1 when the file would make the batch FAILED. No patient
identifiers are printed.
"""

import contextlib
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.management.commands._base import tenant_or_error
from denials.x12_835 import TENANT_OPTION, read_835_for_ingestion
from ingestion.parsers import FileRejected


class Command(BaseCommand):
    help = "Check an X12 835 file without loading it: payments, claims, warnings or refusal."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("file")
        parser.add_argument("--payer", default="", help="payer code for every payment")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        path = Path(o["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        options = {TENANT_OPTION: tenant.pk, "payer_code": o["payer"]}
        try:
            rows = read_835_for_ingestion(path.read_bytes(), options)
        except FileRejected as exc:
            self.stdout.write(json.dumps({"refused": exc.message}))
            raise SystemExit(1) from None
        payments: dict[tuple, dict] = {}
        paid: dict[tuple, Decimal] = defaultdict(Decimal)
        for row in rows:
            d = row.data
            key = (d["payer_code"], d["trace_number"])
            payment = payments.setdefault(
                key,
                {
                    "payer": d["payer_code"],
                    "trace": d["trace_number"],
                    "amount": d["payment_amount"],
                    "date": d["payment_date"],
                    "claims": 0,
                    "warnings": [],
                    "errors": [],
                },
            )
            payment["claims"] += 1
            with contextlib.suppress(ArithmeticError):  # an unreadable amount is an error row
                paid[key] += Decimal(d["paid_amount"])
            for warning in json.loads(d["warnings"]) if d["warnings"] else []:
                if warning not in payment["warnings"]:
                    payment["warnings"].append(warning)
            if row.problem:
                payment["errors"].append({"row": row.row_number, "problem": row.problem})
        for key, payment in payments.items():
            payment["paid"] = str(paid[key])
        self.stdout.write(json.dumps({"claims": len(rows), "payments": list(payments.values())}))
