"""Demo data for billing facts: two payers, a few hundred members, eligibility and services.

Loaded through ingestion batches, like real files; the service file carries a few deliberate
errors (an unknown payer, a bad date) so the retry flow can be shown.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, timedelta
from pathlib import Path

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant
from ingestion.models import Artifact

PAYERS = [("NORTHWIND", "Northwind Health", 90), ("BLUEPEAK", "Blue Peak Mutual", 180)]
MEMBERS = 300
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lea"]
LAST = ["Okafor", "Silva", "Nguyen", "Schmidt", "Haddad", "Kowalski", "Ito", "Moreau", "Reyes"]


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def eligibility_file(today: date) -> bytes:
    """A full eligibility file for the demo members (deterministic)."""
    rnd = random.Random(42)  # noqa: S311 (demo data, not security)
    first_of_month = today.replace(day=1)
    rows = []
    for n in range(1, MEMBERS + 1):
        payer = PAYERS[n % 2][0]
        effective = first_of_month - timedelta(days=rnd.randint(30, 400))
        status, termination = "ACTIVE", ""
        if n % 17 == 0:
            status, termination = "TERMINATED", (first_of_month + timedelta(days=9)).isoformat()
        elif n % 23 == 0:
            status = "PENDING"
        birth = date(1940, 1, 1) + timedelta(days=rnd.randint(0, 30000))
        suffix = "D" if n % 5 == 0 else ""
        rows.append(
            [
                f"M{n:06d}",
                rnd.choice(FIRST),
                rnd.choice(LAST),
                birth.isoformat(),
                payer,
                "FULL_FILE",
                (first_of_month - timedelta(days=3)).isoformat(),
                status,
                effective.isoformat(),
                termination,
                "MED",
                suffix,
            ]
        )
    from billing.ingest import ELIGIBILITY_COLUMNS

    return _csv(list(ELIGIBILITY_COLUMNS), rows)


def service_file(today: date) -> bytes:
    """Service events for most members, with three deliberate errors."""
    rnd = random.Random(7)  # noqa: S311
    first_of_month = today.replace(day=1)
    rows = []
    for n in range(1, MEMBERS + 1):
        if n % 4 == 0:
            continue
        day = first_of_month - timedelta(days=rnd.randint(1, 80))
        rows.append(
            [f"M{n:06d}", PAYERS[n % 2][0], day.isoformat(), rnd.choice(["99213", "99214"])]
        )
    rows[10][1] = "UNKNOWNPAYER"
    rows[20][2] = "2026-02-30"
    rows[30][2] = ""
    return _csv(["member_id", "payer_code", "service_date", "service_code"], rows)


def load_billing_demo(tenant: Tenant) -> str:
    """Payers plus eligibility and service batches (skipped when already loaded)."""
    from billing.models import Payer
    from ingestion import services

    for code, name, days in PAYERS:
        Payer.objects.get_or_create(
            tenant=tenant, code=code, defaults={"name": name, "timely_filing_days": days}
        )
    actor = Actor.system_for(tenant)
    today = date.today()
    loaded = []
    for kind, filename, content in (
        ("ELIGIBILITY", "demo-eligibility.csv", eligibility_file(today)),
        ("SERVICE_DELIVERY", "demo-services.csv", service_file(today)),
    ):
        if Artifact.objects.filter(tenant=tenant, kind=kind, filename=filename).exists():
            continue
        batch = services.batch_ingest_file(
            actor=actor, kind=kind, filename=filename, content=content, enqueue=False
        )
        batch = services.batch_run_inline(batch_id=batch.pk)
        loaded.append(f"{filename}: {batch.success} loaded, {batch.error} errors")
    return "; ".join(loaded) or "already loaded"


RULES_FILE = Path(__file__).with_name("demo_rules.json")


def load_runs_demo(tenant: Tenant) -> str:
    """Rule versions, production runs for the two previous months, a simulation for this one."""
    from billing.engine.months import add_months
    from billing.models import BillingRun
    from billing.services import runs
    from billing.services.rules import rules_load

    actor = Actor.system_for(tenant)
    rules_load(actor=actor, entries=json.loads(RULES_FILE.read_text()))
    this_month = date.today().replace(day=1)
    done = []
    for month, mode in (
        (add_months(this_month, -2), BillingRun.Mode.PRODUCTION),
        (add_months(this_month, -1), BillingRun.Mode.PRODUCTION),
        (this_month, BillingRun.Mode.SIMULATION),
    ):
        if BillingRun.objects.filter(tenant=tenant, month=month, mode=mode).exists():
            continue
        run = runs.billing_run_trigger(
            actor=actor, month=month, payers="all", mode=mode, reason="demo", enqueue=False
        )
        run = runs.billing_run_execute(run_id=run.pk)
        done.append(f"{mode.lower()} {month:%Y-%m}: run #{run.pk} {run.status}")
    return "; ".join(done) or "already loaded"


def register() -> None:
    """Add billing's part of the demo."""
    register_demo_loader("billing-facts", 10, load_billing_demo)
    register_demo_loader("billing-runs", 20, load_runs_demo)
