"""Reads of invoicing, filtered by tenant and by the member's per-payer grants.

A member whose payer grants narrow what they see (SPEC 2) sees only the accounts that invoice
one of those payers, and the requests, charges and bills of those accounts.
"""

from __future__ import annotations

from django.db.models import QuerySet

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.selectors import granted_ids
from invoicing.models import (
    Account,
    Bill,
    BillableCharge,
    Division,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
    WorkCalendar,
)


def visible_payer_ids(actor: Actor) -> list | None:
    """Ids of the payers the actor's grants allow, or None when no grant narrows them."""
    return granted_ids(actor, Payer)


def _narrow_accounts(actor: Actor, qs: QuerySet, prefix: str = "") -> QuerySet:
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is None:
        return qs
    return qs.filter(**{f"{prefix}payer_id__in": payer_ids})


def account_list(actor: Actor, *, number: str = "", division: str = "") -> QuerySet[Account]:
    """Accounts the actor may see, by number."""
    actor.require(S.INVOICING_VIEW)
    qs = _narrow_accounts(actor, Account.objects.filter(tenant=actor.tenant))
    if number:
        qs = qs.filter(number=number)
    if division:
        qs = qs.filter(division__code=division)
    return qs.select_related("division", "payer").order_by("number")


def account_get(actor: Actor, number: str) -> Account:
    """One visible account by number, or 404."""
    account = account_list(actor).filter(number=number).first()
    if account is None:
        raise NotFound(f"Account {number} does not exist.")
    return account


def request_type_list(actor: Actor) -> QuerySet[InvoiceRequestType]:
    """The tenant's invoice request types."""
    actor.require(S.INVOICING_VIEW)
    return InvoiceRequestType.objects.filter(tenant=actor.tenant).order_by("code")


def request_type_get(actor: Actor, code: str) -> InvoiceRequestType:
    """One request type by code, or 404."""
    found = request_type_list(actor).filter(code=code).first()
    if found is None:
        raise NotFound(f"Invoice request type {code} does not exist.")
    return found


def calendar_list(actor: Actor) -> QuerySet[WorkCalendar]:
    """The tenant's work calendars."""
    actor.require(S.INVOICING_VIEW)
    return WorkCalendar.objects.filter(tenant=actor.tenant).order_by("name")


def division_list(actor: Actor) -> QuerySet[Division]:
    """The tenant's divisions."""
    actor.require(S.INVOICING_VIEW)
    return Division.objects.filter(tenant=actor.tenant).select_related("work_calendar")


def invoice_request_list(
    actor: Actor,
    *,
    status: str = "",
    account: str = "",
    type: str = "",
    creator: str = "",
) -> QuerySet[InvoiceRequest]:
    """Requests on visible accounts, newest first."""
    actor.require(S.INVOICING_VIEW)
    qs = _narrow_accounts(
        actor, InvoiceRequest.objects.filter(tenant=actor.tenant), prefix="account__"
    )
    if status:
        qs = qs.filter(status=status.upper())
    if account:
        qs = qs.filter(account__number=account)
    if type:
        qs = qs.filter(type__code=type)
    if creator:
        qs = qs.filter(created_by__username=creator)
    return qs.select_related("type", "account", "created_by", "approved_by", "bill").order_by(
        "-created_at", "-id"
    )


def invoice_request_get(actor: Actor, request_id: int) -> InvoiceRequest:
    """One visible request, or 404."""
    found = invoice_request_list(actor).filter(pk=request_id).first()
    if found is None:
        raise NotFound(f"Invoice request {request_id} does not exist.")
    return found


def approval_queue(actor: Actor) -> QuerySet[InvoiceRequest]:
    """Requests waiting for approval, oldest first."""
    return invoice_request_list(actor, status=InvoiceRequest.Status.PENDING_APPROVAL).order_by(
        "created_at", "id"
    )


def charge_list(
    actor: Actor, *, account: str = "", unbilled: bool | None = None
) -> QuerySet[BillableCharge]:
    """Charges on visible accounts."""
    actor.require(S.INVOICING_VIEW)
    qs = _narrow_accounts(
        actor, BillableCharge.objects.filter(tenant=actor.tenant), prefix="account__"
    )
    if account:
        qs = qs.filter(account__number=account)
    if unbilled is not None:
        qs = qs.filter(bill__isnull=unbilled)
    return qs.select_related("account").order_by("account__number", "charge_date", "id")


def bill_list(actor: Actor, *, account: str = "", kind: str = "") -> QuerySet[Bill]:
    """Bills of visible accounts, newest first."""
    actor.require(S.INVOICING_VIEW)
    qs = _narrow_accounts(actor, Bill.objects.filter(tenant=actor.tenant), prefix="account__")
    if account:
        qs = qs.filter(account__number=account)
    if kind:
        qs = qs.filter(kind=kind.upper())
    return qs.select_related("account").order_by("-created_at", "-id")


def bill_get(actor: Actor, bill_id: int) -> Bill:
    """One visible bill, or 404."""
    found = bill_list(actor).filter(pk=bill_id).first()
    if found is None:
        raise NotFound(f"Bill {bill_id} does not exist.")
    return found


def account_get_by_id(actor: Actor, account_id: int) -> Account:
    """One visible account by id, or 404."""
    account = account_list(actor).filter(pk=account_id).first()
    if account is None:
        raise NotFound(f"Account {account_id} does not exist.")
    return account


def membership_list(actor: Actor, account: Account) -> QuerySet[Membership]:
    """The memberships of a visible account, with characteristics and log prefetched."""
    actor.require(S.INVOICING_VIEW)
    return (
        Membership.objects.filter(tenant=actor.tenant, account=account)
        .prefetch_related("characteristics")
        .order_by("external_id", "id")
    )


def membership_get(actor: Actor, account: Account, membership_id: int) -> Membership:
    """One membership of a visible account, or 404."""
    found = membership_list(actor, account).filter(pk=membership_id).first()
    if found is None:
        raise NotFound(f"Membership {membership_id} does not exist on account {account.number}.")
    return found


def calendar_get(actor: Actor, calendar_id: int) -> WorkCalendar:
    """One calendar of the tenant, or 404."""
    found = calendar_list(actor).filter(pk=calendar_id).first()
    if found is None:
        raise NotFound(f"Calendar {calendar_id} does not exist.")
    return found


def division_get(actor: Actor, division_id: int) -> Division:
    """One division of the tenant, or 404."""
    found = division_list(actor).filter(pk=division_id).first()
    if found is None:
        raise NotFound(f"Division {division_id} does not exist.")
    return found


def request_type_get_by_id(actor: Actor, type_id: int) -> InvoiceRequestType:
    """One request type by id, or 404."""
    found = request_type_list(actor).filter(pk=type_id).first()
    if found is None:
        raise NotFound(f"Invoice request type {type_id} does not exist.")
    return found


def charge_get(actor: Actor, charge_id: int) -> BillableCharge:
    """One charge of a visible account, or 404."""
    found = charge_list(actor).filter(pk=charge_id).first()
    if found is None:
        raise NotFound(f"Charge {charge_id} does not exist.")
    return found
