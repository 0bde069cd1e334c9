"""Membership events from ingestion (issue 12, item 10): status, Log tab, automatic requests.

A MEMBERSHIP_EVENTS row applies its event to the account's membership:
ENROLL and REINSTATE -> ENROLLED, TERMINATE -> TERMINATED, CANCEL -> CANCELLED, each with a
line on the membership's Log tab. For an INDIVIDUAL membership, when the tenant has an
AUTOMATIC invoice request type, the account gets an AUTOMATIC+REGULAR request whose dates come
from the SPEC 5 algorithm on the row's business date (one request per account and business
date, however many of its memberships changed that day).

ENROLL of a membership the account does not have yet creates it (INDIVIDUAL, ENROLLED): an
enrolment message is how memberships begin upstream, and refusing it would leave billing staff
typing in by hand what the file already said. Every other event needs a known membership.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from core.actors import Actor
from core.exceptions import DomainError
from core.models import Tenant
from ingestion.registry import ChunkContext, RecordIn
from invoicing.models import (
    Account,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
    MembershipLog,
)

COLUMNS = ("account_number", "membership_id", "event", "event_date", "business_date")
KEY = ("account_number", "membership_id", "event", "event_date")
EVENTS = ("ENROLL", "TERMINATE", "REINSTATE", "CANCEL")
TARGET = {
    "ENROLL": Membership.Status.ENROLLED,
    "REINSTATE": Membership.Status.ENROLLED,
    "TERMINATE": Membership.Status.TERMINATED,
    "CANCEL": Membership.Status.CANCELLED,
}
EXAMPLE = {
    "account_number": "A-100",
    "membership_id": "MB-0001",
    "event": "ENROLL",
    "event_date": "2026-11-01",
    "business_date": "2026-11-02",
}


def automatic_type(tenant_id: int) -> InvoiceRequestType | None:
    """The tenant's AUTOMATIC request type (the first by code when there are several)."""
    return (
        InvoiceRequestType.objects.filter(
            tenant_id=tenant_id, invoice_mode=InvoiceRequestType.InvoiceMode.AUTOMATIC
        )
        .order_by("code")
        .first()
    )


def _memberships(accounts: dict[str, Account], records: list[RecordIn]) -> dict[tuple, Membership]:
    ids = {(r.data.get("membership_id") or "").strip() for r in records} - {""}
    found = Membership.objects.filter(account__in=list(accounts.values()), external_id__in=ids)
    return {(m.account_id, m.external_id): m for m in found}


def process_membership_events(ctx: ChunkContext, records: list[RecordIn]) -> dict[int, str]:
    """Apply the rows' events in file order; refuse rows naming an unknown account/membership."""
    from invoicing.ingest import Row, accounts_by_number, unknown_account

    accounts = accounts_by_number(ctx.tenant_id, records)
    memberships = _memberships(accounts, records)
    errors: dict[int, str] = {}
    changed: dict[int, Membership] = {}
    logs: list[MembershipLog] = []
    # (account id, business date) -> the individual memberships whose events ask for a request
    wanted: dict[tuple[int, date], list[Membership]] = {}
    source = f"ingestion batch {ctx.batch_id}"
    for rec in sorted(records, key=lambda r: r.row_number):
        row = Row(rec.data)
        number = row.text("account_number", max_length=40)
        external_id = row.text("membership_id", max_length=64)
        event = row.choice("event", EVENTS)
        event_date = row.day("event_date")
        business_date = row.day("business_date")
        account = accounts.get(number)
        if number and account is None:
            row.problems.append(unknown_account(number))
        membership = memberships.get((account.pk, external_id)) if account else None
        unknown = account and external_id and membership is None
        if unknown and event in TARGET and event != "ENROLL":
            row.problems.append(
                f"membership_id: account {number} has no membership '{external_id[:40]}' "
                f"(only ENROLL creates one)"
            )
        if row.problems:
            errors[rec.row_number] = "; ".join(row.problems)
            continue
        before = membership.status if membership else ""
        if membership is None:
            membership = Membership.objects.create(
                tenant_id=ctx.tenant_id,
                account=account,
                external_id=external_id,
                kind=Membership.Kind.INDIVIDUAL,
                status=TARGET[event],
            )
            memberships[(account.pk, external_id)] = membership
        else:
            membership.status = TARGET[event]
            changed[membership.pk] = membership
        logs.append(
            MembershipLog(
                tenant_id=ctx.tenant_id,
                membership=membership,
                event=f"MEMBERSHIP_{event}",
                message=(
                    f"{event} effective {event_date:%Y-%m-%d} (business date "
                    f"{business_date:%Y-%m-%d}): {before or 'new'} -> {membership.status}; "
                    f"{source}, row {rec.row_number}."
                ),
                actor_label=source,
            )
        )
        if membership.kind == Membership.Kind.INDIVIDUAL:
            wanted.setdefault((account.pk, business_date), []).append(membership)
    Membership.objects.bulk_update(list(changed.values()), ["status"], batch_size=1000)
    MembershipLog.objects.bulk_create(logs, batch_size=1000)
    if wanted:
        _automatic_requests(ctx, {a.pk: a for a in accounts.values()}, wanted)
    return errors


def _automatic_requests(
    ctx: ChunkContext,
    accounts: dict[int, Account],
    wanted: dict[tuple[int, date], list[Membership]],
) -> None:
    """One AUTOMATIC request per account and business date; a refusal goes to the Log tab."""
    from invoicing.services.requests import invoice_request_create_automatic

    request_type = automatic_type(ctx.tenant_id)
    if request_type is None:
        return
    actor = Actor.system_for(Tenant.objects.get(pk=ctx.tenant_id))
    notes: list[MembershipLog] = []
    for (account_id, business_date), members in wanted.items():
        account = accounts[account_id]
        ref = f"membership-events:{business_date:%Y-%m-%d}"
        existing = (
            InvoiceRequest.objects.filter(
                tenant_id=ctx.tenant_id,
                account=account,
                origin=InvoiceRequest.Origin.AUTOMATIC,
                source_ref=ref,
            )
            .exclude(status=InvoiceRequest.Status.CANCELLED)
            .first()
        )
        if existing:
            event, message = (
                "AUTOMATIC_REQUEST_EXISTS",
                f"Automatic invoice request {existing.pk} already covers business date "
                f"{business_date:%Y-%m-%d} for account {account.number}.",
            )
        else:
            try:
                with transaction.atomic():
                    request = invoice_request_create_automatic(
                        actor=actor,
                        type=request_type,
                        account=account,
                        business_date=business_date,
                        source_ref=ref,
                    )
            except DomainError as exc:
                event, message = (
                    "AUTOMATIC_REQUEST_REFUSED",
                    f"No automatic invoice request ({request_type.code}) for business date "
                    f"{business_date:%Y-%m-%d}: {exc.message}",
                )
            else:
                event, message = (
                    "AUTOMATIC_REQUEST_CREATED",
                    f"Automatic invoice request {request.pk} ({request_type.code}) created: "
                    f"processing {request.processing_date:%Y-%m-%d}, cutoff "
                    f"{request.cutoff_date:%Y-%m-%d}.",
                )
        notes.extend(
            MembershipLog(
                tenant_id=ctx.tenant_id,
                membership=m,
                event=event,
                message=message,
                actor_label=f"ingestion batch {ctx.batch_id}",
            )
            for m in dict.fromkeys(members)
        )
    MembershipLog.objects.bulk_create(notes, batch_size=1000)
