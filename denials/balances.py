"""Claim balances, derived from payment applications only (never a stored number).

balance = billed - payments - adjustments - patient responsibility - write-offs + reversals
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from denials.models import Claim, PaymentApplication

Kind = PaymentApplication.Kind
_ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))


def _sum_of(kinds) -> Coalesce:
    total = (
        PaymentApplication.objects.filter(claim=OuterRef("pk"), kind__in=list(kinds))
        .order_by()
        .values("claim")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=_ZERO.output_field), _ZERO)


def with_amounts(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims annotated with paid_amount, adjusted_amount, patient_amount, written_off_amount,
    reversed_amount and balance (all Decimal)."""
    return claims.annotate(
        paid_amount=_sum_of([Kind.PAYMENT]),
        adjusted_amount=_sum_of([Kind.ADJUSTMENT]),
        patient_amount=_sum_of([Kind.PATIENT_RESPONSIBILITY]),
        written_off_amount=_sum_of([Kind.WRITEOFF]),
        reversed_amount=_sum_of([Kind.REVERSAL]),
    ).annotate(
        balance=(
            F("billed_amount")
            - F("paid_amount")
            - F("adjusted_amount")
            - F("patient_amount")
            - F("written_off_amount")
            + F("reversed_amount")
        )
    )


def balance_of(claim: Claim, applications: list[PaymentApplication] | None = None) -> Decimal:
    """One claim's balance from its applications (loaded when not given)."""
    apps = applications if applications is not None else list(claim.applications.all())
    return claim.billed_amount + sum((a.signed_amount for a in apps), Decimal("0.00"))


def balance_history(claim: Claim) -> list[tuple[object, Decimal]]:
    """(time, balance after) for the claim's build and each application, oldest first."""
    balance = claim.billed_amount
    points = [(claim.built_at, balance)]
    for app in claim.applications.order_by("created_at", "id"):
        balance += app.signed_amount
        points.append((app.created_at, balance))
    return points
