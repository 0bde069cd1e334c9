"""Member-month overrides (step 9), under dual control when the tenant says so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction

from billing.models import Member, MemberMonthOverride, Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError, NotFound
from core.months import MonthError, parse_month
from core.overrides import (
    OverrideAction,
    OverrideOutcome,
    override_people,
    override_perform,
    register_override,
)

ACTION = "billing.member_month_override"


def _parse(actor: Actor, payload: dict) -> tuple[Payer, Member, date, str, Decimal | None]:
    payer = Payer.objects.filter(tenant=actor.tenant, pk=payload.get("payer_id")).first()
    member = Member.objects.filter(tenant=actor.tenant, pk=payload.get("member_id")).first()
    if payer is None:
        raise NotFound("payer: no such payer.")
    if member is None:
        raise NotFound("member: no such member.")
    try:
        month = parse_month(payload.get("month"), first_day_ok=True)
    except MonthError as exc:
        raise DomainError(f"month: {exc}") from None
    outcome = str(payload.get("outcome", "")).upper()
    if outcome not in MemberMonthOverride.Outcome.values:
        raise DomainError("outcome: expected BILLABLE or NOT_BILLABLE.")
    rate = payload.get("rate")
    if rate in (None, ""):
        rate = None
    else:
        try:
            rate = Decimal(str(rate))
        except InvalidOperation:
            raise DomainError("rate: expected an amount like 412.50.") from None
        if rate < 0 or rate.as_tuple().exponent < -2:
            raise DomainError("rate: expected a non-negative amount with at most 2 decimals.")
    if rate is not None and outcome != MemberMonthOverride.Outcome.BILLABLE:
        raise DomainError("rate: only a BILLABLE override carries a rate.")
    return payer, member, month, outcome, rate


def _execute(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by) -> dict:
    payer, member, month, outcome, rate = _parse(actor, payload)
    MemberMonthOverride.objects.filter(payer=payer, member=member, month=month, active=True).update(
        active=False
    )
    override = MemberMonthOverride.objects.create(
        tenant=actor.tenant,
        payer=payer,
        member=member,
        month=month,
        outcome=outcome,
        rate=rate,
        reason=reason,
        created_by=requested_by,
        approved=True,
        approved_by=approved_by,
    )
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="MEMBER_MONTH_OVERRIDE_APPLIED",
        obj=override,
        reason=reason,
        reason_required=True,
        payload={
            "payer": payer.code,
            "member_id": member.pk,
            "month": month,
            "outcome": outcome,
            "rate": rate,
            **override_people(requested_by, approved_by),
        },
    )
    return {"override": override.pk}


def _describe(payload: dict) -> str:
    """How the request reads in the approvals queue (and its confirmation)."""
    rate = f" at ${Decimal(str(payload['rate'])):,.2f}" if payload.get("rate") else ""
    outcome = "Billable" if payload.get("outcome") == "BILLABLE" else "Not billable"
    payer = Payer.objects.filter(pk=payload.get("payer_id")).values_list("code", flat=True).first()
    return (
        f"{outcome}{rate} for member #{payload.get('member_id')} of "
        f"{payer or 'payer #' + str(payload.get('payer_id'))} in {str(payload.get('month'))[:7]}"
    )


def register() -> None:
    """Offer the override to core's dual-control machinery."""
    register_override(
        OverrideAction(
            name=ACTION, scope=S.BILLING_OVERRIDE_CREATE, execute=_execute, describe=_describe
        )
    )


def member_month_override_request(
    *,
    actor: Actor,
    payer_code: str,
    member_external_id: str,
    month: date,
    outcome: str,
    reason: str,
    rate: Decimal | str | None = None,
) -> OverrideOutcome:
    """Override a member-month now, or file it for a second person's approval."""
    actor.require(S.BILLING_OVERRIDE_CREATE)
    payer = Payer.objects.filter(tenant=actor.tenant, code=(payer_code or "").upper()).first()
    if payer is None:
        raise NotFound(f"payer: no payer with code '{payer_code}'.")
    member = Member.objects.filter(tenant=actor.tenant, external_id=member_external_id).first()
    if member is None:
        raise NotFound("member: no member with this id.")
    payload = {
        "payer_id": payer.pk,
        "member_id": member.pk,
        "month": month.replace(day=1).isoformat(),
        "outcome": (outcome or "").upper(),
        "rate": None if rate in (None, "") else str(rate),
    }
    _parse(actor, payload)  # refuse bad input before anything is filed
    with transaction.atomic():
        return override_perform(actor=actor, action=ACTION, payload=payload, reason=reason)
