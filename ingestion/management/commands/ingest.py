"""manage.py ingest --tenant SLUG --kind KIND FILE [--key-fields a,b] [--payer CODE] [--wait|--sync]

Prints one JSON line: {"batch", "status", "total", "success", "error", "skipped"}. Exit code 1
when the batch FAILED or ended with errors, so cron notices.
"""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.transitions import state_reload
from ingestion import services
from ingestion.models import Batch
from ingestion.registry import handlers


class Command(BaseCommand):
    help = "Load a file (CSV, or X12 834 for enrollment) as a batch."

    def add_arguments(self, parser):
        kinds = [h.kind.lower() for h in handlers()]
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--kind", required=True, choices=kinds)
        parser.add_argument("file")
        parser.add_argument("--key-fields", default="", help="comma-separated idempotency key")
        parser.add_argument("--payer", default="", help="payer code for every row (X12)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="queue for workers, wait for the end")
        mode.add_argument("--sync", action="store_true", help="process here, no worker needed")
        parser.add_argument("--timeout", type=int, default=3600, help="seconds --wait waits")

    def handle(self, *args, **o):
        tenant = tenant_or_error(o["tenant"])
        path = Path(o["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        actor = Actor.system_for(tenant)
        try:
            batch = services.batch_ingest_file(
                actor=actor,
                kind=o["kind"].upper(),
                filename=path.name,
                content=path.read_bytes(),
                idempotency_key_fields=[k for k in o["key_fields"].split(",") if k.strip()],
                options={"payer_code": o["payer"]},
                enqueue=not o["sync"],
                inline=o["sync"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if o["sync"] and batch.is_active:
            batch = services.batch_run_inline(batch_id=batch.pk)
        elif o["wait"]:
            deadline = time.monotonic() + o["timeout"]
            while batch.is_active and time.monotonic() < deadline:
                time.sleep(0.5)
                state_reload(batch)
        out = {
            "batch": batch.pk,
            "status": batch.status,
            "total": batch.total,
            "success": batch.success,
            "updated": batch.updated,
            "error": batch.error,
            "skipped": batch.skipped,
        }
        if batch.status == Batch.Status.FAILED:
            out["failure"] = batch.failure
        self.stdout.write(json.dumps(out))
        if batch.status in (Batch.Status.FAILED, Batch.Status.COMPLETED_WITH_ERRORS):
            raise SystemExit(1)
