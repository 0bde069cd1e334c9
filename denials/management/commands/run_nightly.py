"""manage.py run_nightly --tenant SLUG [--job NAME] [--today YYYY-MM-DD] [--force]"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from core.management.commands._base import date_arg, tenant_or_error
from denials.services.jobs import JOBS, jobs_enabled, jobs_run_nightly


class Command(BaseCommand):
    help = (
        "Run the nightly claim jobs for a tenant now (all, or one with --job), as of --today; "
        "prints one JSON line with each run's status and counts. Exits 1 when a job failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--job", choices=list(JOBS), help="one job (default: all, in order)")
        parser.add_argument("--today", help="the day to run for, YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--force", action="store_true", help="run even when JOBS_DISABLED is set"
        )

    def handle(self, *args, **opts):
        tenant = tenant_or_error(opts["tenant"])
        today = date_arg("--today", opts["today"])
        if not jobs_enabled() and not opts["force"]:
            raise CommandError("The nightly jobs are disabled (JOBS_DISABLED); add --force.")
        runs = jobs_run_nightly(tenant=tenant, job=opts["job"], today=today, force=opts["force"])
        line = {
            "tenant": tenant.slug,
            "as_of": runs[0].as_of.isoformat() if runs else None,
            "runs": [
                {
                    "job": r.job,
                    "status": r.status,
                    "counts": r.counts,
                    "error": r.error,
                    "seconds": round(r.duration_seconds or 0, 3),
                }
                for r in runs
            ],
        }
        self.stdout.write(json.dumps(line))
        failed = [r.job for r in runs if r.status != r.Status.SUCCEEDED]
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}.")
