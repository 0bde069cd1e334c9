"""Reads for invoicing's staff screens: the approval queue with charge figures, chart series,
an account's Log tab and a request's timeline (all narrowed like invoicing.selectors)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth

from core import scopes as S
from core.actors import Actor
from core.models import AuditEntry
from invoicing import selectors
from invoicing.models import Account, Bill, BillableCharge, InvoiceRequest, MembershipLog

REQUEST_TYPE = "invoicing.InvoiceRequest"


def _unbilled(field: str):
    charges = BillableCharge.objects.filter(
        account_id=OuterRef("account_id"),
        bill__isnull=True,
        charge_date__lte=OuterRef("cutoff_date"),
    ).order_by()
    return charges.values("account_id").annotate(v=field).values("v")[:1]


def with_charge_figures(qs: QuerySet[InvoiceRequest]) -> QuerySet[InvoiceRequest]:
    """Annotate each request with its account's unbilled charges up to the cutoff (count, sum)."""
    return qs.annotate(
        charge_count=Coalesce(Subquery(_unbilled(Count("id")), output_field=IntegerField()), 0),
        charge_amount=Coalesce(
            Subquery(
                _unbilled(Sum("amount")), output_field=DecimalField(max_digits=14, decimal_places=2)
            ),
            Decimal("0.00"),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
    )


def approval_queue(actor: Actor) -> QuerySet[InvoiceRequest]:
    """Requests waiting for approval, oldest first, with their charge count and amount."""
    return with_charge_figures(selectors.approval_queue(actor))


def approvable_count(actor: Actor) -> int:
    """How many waiting requests this person may approve (held scope, not their own)."""
    if not actor.has(S.INVOICING_REQUEST_APPROVE) or actor.user is None:
        return 0
    return selectors.approval_queue(actor).exclude(created_by=actor.user).count()


def requests_by_status(actor: Actor) -> dict[str, int]:
    """{status: count} of the visible requests."""
    qs = selectors.invoice_request_list(actor).order_by()
    return dict(qs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))


def bills_by_month(actor: Actor, *, since: date) -> list[tuple[date, str, int, Decimal]]:
    """(month, kind, count, total) of visible bills by bill date from `since`, oldest first."""
    qs = (
        selectors.bill_list(actor)
        .filter(bill_date__gte=since)
        .order_by()
        .annotate(m=TruncMonth("bill_date"))
        .values_list("m", "kind")
        .annotate(n=Count("id"), total=Sum("total"))
        .order_by("m", "kind")
    )
    out = []
    for m, kind, n, total in qs:
        out.append((m if isinstance(m, date) else m.date(), kind, n, total or Decimal("0")))
    return out


def account_log(actor: Actor, account: Account) -> QuerySet[MembershipLog]:
    """The Log tab: every log line of the account's memberships, newest first."""
    actor.require(S.INVOICING_VIEW)
    return (
        MembershipLog.objects.filter(tenant=actor.tenant, membership__account=account)
        .select_related("membership")
        .order_by("-at", "-id")
    )


def request_timeline(actor: Actor, request: InvoiceRequest) -> QuerySet[AuditEntry]:
    """The audit entries of one visible request, oldest first (created, approved, processed...)."""
    actor.require(S.INVOICING_VIEW)
    return AuditEntry.objects.filter(
        tenant=actor.tenant, object_type=REQUEST_TYPE, object_id=str(request.pk)
    ).order_by("seq")


def account_bills(actor: Actor, account: Account) -> QuerySet[Bill]:
    """Bills of one visible account, newest first."""
    return selectors.bill_list(actor, account=account.number)
