"""`manage.py bench invoicing --accounts N --charges M`: process every request due on a day.

A fresh tenant gets N accounts, each with an INDIVIDUAL membership whose INVRACTE is `Y`, M
charges spread over the accounts (one in 45 dated after the cutoff, so it stays unbilled), and
one PENDING manual regular request per account due on the business date (written with COPY, not
timed, no audit entries: bench data). The clock covers `invoice_requests_process_due` for that
business date: bills, lines, charges taken, request transitions with their audit entries, the
PDF renderings queued. The floor is one set-based read of every charge the bills will take (the
least any implementation must do), measured in the same run for comparison.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from core.bench import Bench, Timer, peak_rss_mb, register_bench
from core.bulk import insert_rows
from core.services import tenant_create

BUSINESS_DATE = date(2026, 3, 16)  # a Monday
CUTOFF = BUSINESS_DATE - timedelta(days=1)


def _setup(tenant, accounts: int, charges: int) -> None:
    from invoicing.models import (
        Account,
        BillableCharge,
        InvoiceRequest,
        InvoiceRequestType,
        Membership,
        MembershipCharacteristic,
    )

    request_type = InvoiceRequestType.objects.create(
        tenant=tenant,
        code="BENCH",
        invoice_mode="MANUAL",
        bill_generation="REGULAR",
        approval_required=False,
    )
    with transaction.atomic():
        insert_rows(
            Account,
            ("tenant", "number", "name", "bill_cycle_day"),
            ((tenant.pk, f"A{n:08d}", f"Account {n}", 1 + n % 28) for n in range(accounts)),
        )
    ids = list(Account.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True))
    with transaction.atomic():
        insert_rows(
            Membership,
            ("tenant", "account", "external_id", "kind", "status"),
            ((tenant.pk, a, f"M{a}", "INDIVIDUAL", "ENROLLED") for a in ids),
        )
        insert_rows(
            MembershipCharacteristic,
            ("tenant", "membership", "type", "value", "effective_from"),
            (
                (tenant.pk, m, "INVRACTE", "Y", date(2025, 1, 1))
                for m in Membership.objects.filter(tenant=tenant).values_list("id", flat=True)
            ),
        )
        insert_rows(
            BillableCharge,
            (
                "tenant",
                "account",
                "external_id",
                "charge_date",
                "amount",
                "description",
                "source",
                "source_ref",
            ),
            (
                (
                    tenant.pk,
                    ids[n % len(ids)],
                    f"C{n:09d}",
                    BUSINESS_DATE - timedelta(days=n % 45),
                    Decimal(10 + n % 490) + Decimal("0.25"),
                    "Bench charge",
                    "CSV",
                    "",
                )
                for n in range(charges)
            ),
        )
        now = datetime.now(UTC)
        insert_rows(
            InvoiceRequest,
            (
                "tenant",
                "type",
                "account",
                "origin",
                "source_ref",
                "cutoff_date",
                "bill_date",
                "accounting_date",
                "processing_date",
                "processing_mode",
                "status",
                "decided_reason",
                "error",
                "created_at",
                "updated_at",
            ),
            (
                (
                    tenant.pk,
                    request_type.pk,
                    a,
                    "MANUAL",
                    "",
                    CUTOFF,
                    BUSINESS_DATE,
                    BUSINESS_DATE,
                    BUSINESS_DATE,
                    "DEFERRED",
                    "PENDING",
                    "",
                    "",
                    now,
                    now,
                )
                for a in ids
            ),
        )
    if connection.vendor == "postgresql":  # as autovacuum would, before anyone reads it
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _floor(tenant) -> float:
    """Seconds of one set-based read of every charge the bills will take."""
    from invoicing.models import BillableCharge

    with Timer() as clock:
        rows = list(
            BillableCharge.objects.filter(
                tenant=tenant, bill__isnull=True, charge_date__lte=CUTOFF
            ).values_list("id", "account_id", "charge_date", "description", "amount")
        )
    del rows
    return clock.seconds


def _args(parser) -> None:
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--charges", type=int, default=200_000)


def _run(*, accounts: int, charges: int, **_) -> dict:
    from core.models import AuditEntry
    from invoicing.models import Bill, BillableCharge, BillLine, InvoiceRequest
    from invoicing.services.processing import invoice_requests_process_due

    tenant = tenant_create(slug=f"bench-invoicing-{int(time.time())}", name="bench")
    with Timer() as setup:
        _setup(tenant, accounts, charges)
    floor = _floor(tenant)
    audit_before = AuditEntry.objects.filter(tenant=tenant).count()
    with Timer() as clock:
        result = invoice_requests_process_due(tenant=tenant, business_date=BUSINESS_DATE)
    expected = BillableCharge.objects.filter(tenant=tenant, charge_date__lte=CUTOFF).count()
    billed = BillableCharge.objects.filter(tenant=tenant, bill__isnull=False).count()
    return {
        "bench": "invoicing",
        "database": connection.vendor,
        "accounts": accounts,
        "charges": charges,
        "setup_seconds": setup.seconds,
        "floor_seconds": floor,
        "process_seconds": clock.seconds,
        "processed": len(result["processed"]),
        "errors": len(result["errors"]),
        "bills": Bill.objects.filter(tenant=tenant, kind=Bill.Kind.REGULAR).count(),
        "lines": BillLine.objects.filter(tenant=tenant).count(),
        "charges_billed": billed,
        "charges_expected": expected,
        "requests_processed": InvoiceRequest.objects.filter(
            tenant=tenant, status=InvoiceRequest.Status.PROCESSED
        ).count(),
        "audit_entries": AuditEntry.objects.filter(tenant=tenant).count() - audit_before,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "tenant": tenant.slug,
    }


def register() -> None:
    """Offer the invoicing benchmark."""
    register_bench(
        Bench(
            "invoicing",
            "process one due request per account over N accounts and M charges",
            _args,
            _run,
        )
    )
