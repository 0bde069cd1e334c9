"""Invoice requests (SPEC 5): preview, create (manual, automatic), approve, reject, cancel, retry.

Every state change goes through `core.transitions.transition_apply` (lock, scope, FSM, audit).
Four-eyes: the approver holds `invoicing.request.approve` and is not the creator, whatever the
entry point (API, screen, admin action, command): they all call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from core import queue
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError, NotFound, ScopeDenied
from core.transitions import transition_apply
from invoicing import dates
from invoicing.models import (
    Account,
    BillableCharge,
    FeatureConfiguration,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
    MembershipCharacteristic,
    MembershipLog,
    WorkCalendar,
)
from invoicing.services.types import MANUAL, REGULAR, request_type_check

Status = InvoiceRequest.Status
Mode = InvoiceRequest.ProcessingMode


# --- calendars, configuration, modes ---------------------------------------------------------


def work_calendar_dates(calendar: WorkCalendar) -> dates.Calendar:
    """The pure calendar of a stored work calendar."""
    days = calendar.holidays.values_list("day", flat=True)
    return dates.Calendar.from_codes(list(calendar.weekend_days or []), frozenset(days))


def calendar_for(request_type: InvoiceRequestType, account: Account) -> dates.Calendar:
    """The type's calendar, else the account division's, else Saturday/Sunday off."""
    if request_type.work_calendar_id:
        return work_calendar_dates(request_type.work_calendar)
    if account.division_id and account.division.work_calendar_id:
        return work_calendar_dates(account.division.work_calendar)
    return dates.WEEKENDS_OFF


def feature_configuration(tenant) -> FeatureConfiguration:
    """The tenant's invoicing options, or the defaults (unsaved) when none were configured.

    Reading them writes nothing: a request form's preview and its save may run at once.
    """
    found = FeatureConfiguration.objects.filter(tenant=tenant).first()
    return found or FeatureConfiguration(tenant=tenant)


def unbilled_charge_count(account: Account, cutoff_date: date) -> int:
    """Charges of the account no regular bill took yet, dated on or before the cutoff."""
    return BillableCharge.objects.filter(
        account=account, bill__isnull=True, charge_date__lte=cutoff_date
    ).count()


def processing_mode_for(request_type: InvoiceRequestType, account: Account, cutoff: date) -> str:
    """DEFERRED when unbilled charges up to the cutoff outnumber the type's defer count."""
    if (
        request_type.invoice_mode == MANUAL
        and request_type.bill_generation == REGULAR
        and request_type.defer_charge_count is not None
        and unbilled_charge_count(account, cutoff) > request_type.defer_charge_count
    ):
        return Mode.DEFERRED
    return Mode.ONLINE


# --- eligibility ----------------------------------------------------------------------------


def eligible_memberships(account: Account, day: date) -> list[Membership]:
    """Individual memberships whose eligibility characteristic is `Y` on the day, or a refusal."""
    char_type = feature_configuration(account.tenant).invoice_request_eligibility_char_type
    individuals = list(
        Membership.objects.filter(account=account, kind=Membership.Kind.INDIVIDUAL).order_by(
            "external_id"
        )
    )
    if not individuals:
        raise DomainError(
            f"Account {account.number} has no individual membership: an invoice request needs "
            f"one whose characteristic {char_type} is Y on {day:%Y-%m-%d}.",
            code="not_eligible",
            details={"account": account.number, "characteristic_type": char_type},
        )
    values: dict[int, str] = {}
    for membership_id, value in (
        MembershipCharacteristic.objects.filter(
            membership__in=individuals, type=char_type, effective_from__lte=day
        )
        .order_by("membership_id", "effective_from")
        .values_list("membership_id", "value")
    ):
        values[membership_id] = value  # the latest effective value wins
    eligible = [m for m in individuals if (values.get(m.pk) or "").strip().upper() == "Y"]
    if not eligible:
        found = ", ".join(
            f"{m.external_id} has {values[m.pk]!r}"
            if m.pk in values
            else f"{m.external_id} has none"
            for m in individuals
        )
        raise DomainError(
            f"Account {account.number} is not eligible for an invoice request on {day:%Y-%m-%d}: "
            f"no individual membership has characteristic {char_type} = Y ({found}).",
            code="not_eligible",
            details={
                "account": account.number,
                "characteristic_type": char_type,
                "memberships": [m.external_id for m in individuals],
            },
        )
    return eligible


# --- preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestDates:
    """What a request would get: its dates and processing mode."""

    processing_date: date
    cutoff_date: date
    bill_date: date
    accounting_date: date
    processing_mode: str

    def as_dict(self) -> dict:
        """JSON-ready (ISO dates)."""
        return {
            "processing_date": self.processing_date.isoformat(),
            "cutoff_date": self.cutoff_date.isoformat(),
            "bill_date": self.bill_date.isoformat(),
            "accounting_date": self.accounting_date.isoformat(),
            "processing_mode": self.processing_mode,
        }


def _check_tenant(actor: Actor, request_type: InvoiceRequestType, account: Account) -> None:
    if request_type.tenant_id != actor.tenant.pk:
        raise NotFound(f"Invoice request type {request_type.code} does not exist.")
    if account.tenant_id != actor.tenant.pk:
        raise NotFound(f"Account {account.number} does not exist.")


def request_dates(
    *,
    request_type: InvoiceRequestType,
    account: Account,
    today: date,
    cutoff_date: date | None = None,
    bill_date: date | None = None,
    accounting_date: date | None = None,
) -> RequestDates:
    """The dates a request gets: manual ones from the given dates, automatic from SPEC 5."""
    cal = calendar_for(request_type, account)
    if request_type.invoice_mode == MANUAL:
        processing = dates.manual_processing_date(today, request_type.wait_days, cal)
        cutoff = cutoff_date or today
        bill = bill_date or cutoff
        accounting = accounting_date or processing
    else:
        auto = dates.automatic_dates(
            today,
            wait_days=request_type.wait_days,
            threshold_days=request_type.threshold_days,
            bill_cycle_day=account.bill_cycle_day,
            cal=cal,
        )
        processing, cutoff = auto.processing_date, auto.cutoff_date
        bill, accounting = auto.bill_date, auto.accounting_date
    return RequestDates(
        processing_date=processing,
        cutoff_date=cutoff,
        bill_date=bill,
        accounting_date=accounting,
        processing_mode=processing_mode_for(request_type, account, cutoff),
    )


def invoice_request_preview(
    *,
    actor: Actor,
    type: InvoiceRequestType,
    account: Account,
    business_date: date,
    cutoff_date: date | None = None,
    bill_date: date | None = None,
    accounting_date: date | None = None,
) -> RequestDates:
    """The dates and mode a request would get on the business date ("today"); creates nothing."""
    actor.require(S.INVOICING_VIEW)
    _check_tenant(actor, type, account)
    request_type_check(type)
    return request_dates(
        request_type=type,
        account=account,
        today=business_date,
        cutoff_date=cutoff_date,
        bill_date=bill_date,
        accounting_date=accounting_date,
    )


# --- creation -------------------------------------------------------------------------------


def _enqueue_if_due(request: InvoiceRequest, today: date) -> None:
    """Queue online processing after commit when the request is pending and due."""
    if (
        request.status == Status.PENDING
        and request.processing_mode == Mode.ONLINE
        and request.processing_date <= today
    ):
        pk, tenant_id, day = request.pk, request.tenant_id, today.isoformat()
        transaction.on_commit(
            lambda: queue.enqueue("invoicing.tasks.invoice_request_process", tenant_id, pk, day)
        )


def _create(
    *,
    actor: Actor,
    request_type: InvoiceRequestType,
    account: Account,
    today: date,
    origin: str,
    source_ref: str,
    cutoff_date: date | None,
    bill_date: date | None,
    accounting_date: date | None,
) -> InvoiceRequest:
    actor.require(S.INVOICING_REQUEST_CREATE)
    _check_tenant(actor, request_type, account)
    request_type_check(request_type)
    if cutoff_date and bill_date and bill_date < cutoff_date:
        raise DomainError(
            f"bill_date: {bill_date:%Y-%m-%d} is before the cutoff {cutoff_date:%Y-%m-%d}.",
            details={"field": "bill_date"},
        )
    eligible = eligible_memberships(account, today)
    with transaction.atomic():
        # Serialise requests of one account so the charge count behind the mode is current.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        found = request_dates(
            request_type=request_type,
            account=account,
            today=today,
            cutoff_date=cutoff_date,
            bill_date=bill_date,
            accounting_date=accounting_date,
        )
        status = Status.PENDING_APPROVAL if request_type.approval_required else Status.PENDING
        request = InvoiceRequest.objects.create(
            tenant=actor.tenant,
            type=request_type,
            account=account,
            origin=origin,
            source_ref=source_ref,
            cutoff_date=found.cutoff_date,
            bill_date=found.bill_date,
            accounting_date=found.accounting_date,
            processing_date=found.processing_date,
            processing_mode=found.processing_mode,
            status=status,
            created_by=actor.user,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="InvoiceRequest.create",
            obj=request,
            payload={
                "to": status,
                "type": request_type.code,
                "account": account.number,
                "origin": origin,
                **found.as_dict(),
            },
        )
        MembershipLog.objects.bulk_create(
            MembershipLog(
                tenant=actor.tenant,
                membership=m,
                event="INVOICE_REQUEST_CREATED",
                message=(
                    f"Invoice request {request.pk} ({request_type.code}) created for account "
                    f"{account.number}; processing {found.processing_date:%Y-%m-%d}, "
                    f"{found.processing_mode.lower()}."
                ),
                actor_label=actor.label,
                request=request,
            )
            for m in eligible
        )
        _enqueue_if_due(request, today)
    return request


def invoice_request_create(
    *,
    actor: Actor,
    type: InvoiceRequestType,
    account: Account,
    cutoff_date: date | None = None,
    bill_date: date | None = None,
    accounting_date: date | None = None,
    today: date | None = None,
) -> InvoiceRequest:
    """Create a manual request (MANUAL types): eligibility, dates, mode, approval or pending."""
    if type.invoice_mode != MANUAL:
        raise DomainError(
            f"type: {type.code} is an AUTOMATIC type; automatic requests are created from "
            "membership events, not by hand.",
            details={"field": "type"},
        )
    return _create(
        actor=actor,
        request_type=type,
        account=account,
        today=today or timezone.localdate(),
        origin=InvoiceRequest.Origin.MANUAL,
        source_ref="",
        cutoff_date=cutoff_date,
        bill_date=bill_date,
        accounting_date=accounting_date,
    )


def invoice_request_create_automatic(
    *,
    actor: Actor,
    type: InvoiceRequestType,
    account: Account,
    business_date: date,
    source_ref: str = "",
) -> InvoiceRequest:
    """Create an automatic request (AUTOMATIC types) with dates from the SPEC 5 algorithm."""
    if type.invoice_mode == MANUAL:
        raise DomainError(
            f"type: {type.code} is a MANUAL type; automatic requests need an AUTOMATIC type.",
            details={"field": "type"},
        )
    return _create(
        actor=actor,
        request_type=type,
        account=account,
        today=business_date,
        origin=InvoiceRequest.Origin.AUTOMATIC,
        source_ref=source_ref,
        cutoff_date=None,
        bill_date=None,
        accounting_date=None,
    )


# --- decisions ------------------------------------------------------------------------------


def _visible_request(actor: Actor, request_id) -> InvoiceRequest:
    from invoicing.selectors import _narrow_accounts

    qs = _narrow_accounts(
        actor, InvoiceRequest.objects.filter(tenant=actor.tenant), prefix="account__"
    )
    request = qs.filter(pk=getattr(request_id, "pk", request_id)).first()
    if request is None:
        raise NotFound(f"Invoice request {getattr(request_id, 'pk', request_id)} does not exist.")
    return request


def invoice_request_approve(
    *, actor: Actor, request_id: int, today: date | None = None
) -> InvoiceRequest:
    """Approve a waiting request (four-eyes); it becomes PENDING and is processed when due."""
    actor.require(S.INVOICING_REQUEST_APPROVE)
    request = _visible_request(actor, request_id)
    if actor.user is None:
        raise ScopeDenied(
            f"Invoice request {request.pk}: approval needs a person (four-eyes).",
            details={"scope": S.INVOICING_REQUEST_APPROVE},
        )
    if request.created_by_id is not None and request.created_by_id == actor.user.pk:
        raise ScopeDenied(
            f"Invoice request {request.pk}: the approver must differ from the creator "
            "(four-eyes); ask another approver.",
            details={"scope": S.INVOICING_REQUEST_APPROVE, "rule": "four_eyes"},
        )
    with transaction.atomic():
        transition_apply(
            actor=actor,
            model=InvoiceRequest,
            pk=request.pk,
            name="approve",
            scope=S.INVOICING_REQUEST_APPROVE,
            kwargs={"approver": actor.user},
        )
        request = transition_apply(
            actor=actor,
            model=InvoiceRequest,
            pk=request.pk,
            name="release",
            scope=S.INVOICING_REQUEST_APPROVE,
        )
        _enqueue_if_due(request, today or timezone.localdate())
    return request


def invoice_request_reject(*, actor: Actor, request_id: int, reason: str) -> InvoiceRequest:
    """Turn a waiting request down; a reason is required."""
    request = _visible_request(actor, request_id)
    return transition_apply(
        actor=actor,
        model=InvoiceRequest,
        pk=request.pk,
        name="reject",
        scope=S.INVOICING_REQUEST_APPROVE,
        reason=reason,
        reason_required=True,
        kwargs={"reason": (reason or "").strip()},
    )


def invoice_request_cancel(*, actor: Actor, request_id: int, reason: str = "") -> InvoiceRequest:
    """Withdraw a request waiting for approval or processing."""
    request = _visible_request(actor, request_id)
    return transition_apply(
        actor=actor,
        model=InvoiceRequest,
        pk=request.pk,
        name="cancel",
        scope=S.INVOICING_REQUEST_CREATE,
        reason=reason,
        kwargs={"reason": (reason or "").strip()},
    )


def invoice_request_retry(
    *, actor: Actor, request_id: int, today: date | None = None
) -> InvoiceRequest:
    """Put a failed request back to PENDING (processed again when due)."""
    request = _visible_request(actor, request_id)
    with transaction.atomic():
        request = transition_apply(
            actor=actor,
            model=InvoiceRequest,
            pk=request.pk,
            name="retry",
            scope=S.INVOICING_REQUEST_CREATE,
        )
        _enqueue_if_due(request, today or timezone.localdate())
    return request
