"""Invoicing reference data edited one object at a time (API, screens): calendars and their
holidays, divisions, request types, accounts, memberships and their characteristics.

All of it needs `invoicing.type.manage`, the scope `load_invoicing` needs for the same objects in
a file: who may change how requests are dated and typed may change what they are made for.
Every write is audited; a name or code already taken is a 409, a refused type combination a 400
naming the rule (invoicing.services.types). Messages never carry a membership's external id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from invoicing.holiday_import import holiday_dates
from invoicing.models import (
    WEEKDAY_CODES,
    Account,
    Division,
    Holiday,
    InvoiceRequestType,
    Membership,
    MembershipCharacteristic,
    MembershipLog,
    WorkCalendar,
)
from invoicing.services.types import type_rules_check

UNSET = object()


def _audit(actor: Actor, action: str, obj, payload: dict) -> None:
    audit_record(tenant=actor.tenant, actor=actor, action=action, obj=obj, payload=payload)


def _get(model, actor: Actor, pk: int, label: str):
    found = model.objects.filter(tenant=actor.tenant, pk=pk).first()
    if found is None:
        raise NotFound(f"{label} {pk} does not exist.")
    return found


# --- calendars -------------------------------------------------------------------------------


def _weekend(days: Iterable[str]) -> list[str]:
    codes = [str(d).upper() for d in days]
    bad = [d for d in codes if d not in WEEKDAY_CODES]
    if bad:
        raise DomainError(
            f"weekend_days: expected days among {', '.join(WEEKDAY_CODES)}, found {bad[0][:10]}",
            details={"field": "weekend_days"},
        )
    return sorted(set(codes), key=WEEKDAY_CODES.index)


def _set_manual_holidays(actor: Actor, calendar: WorkCalendar, holidays: list[dict]) -> None:
    """The calendar's typed-in holidays become exactly these (imported ones stay)."""
    days = [h["day"] for h in holidays]
    if len(days) != len(set(days)):
        raise DomainError("holidays: a day is listed twice.", details={"field": "holidays"})
    calendar.holidays.filter(source=Holiday.Source.MANUAL).exclude(day__in=days).delete()
    for h in holidays:
        Holiday.objects.update_or_create(
            calendar=calendar,
            day=h["day"],
            defaults={
                "tenant": actor.tenant,
                "name": h.get("name", ""),
                "source": Holiday.Source.MANUAL,
            },
        )


def calendar_create(
    *, actor: Actor, name: str, weekend_days: Iterable[str], holidays: list[dict] = ()
) -> WorkCalendar:
    """A new work calendar with its weekend days and typed-in holidays."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    weekend = _weekend(weekend_days)
    with transaction.atomic():
        if WorkCalendar.objects.filter(tenant=actor.tenant, name=name).exists():
            raise Conflict(f"name: a calendar named '{name}' already exists.")
        cal = WorkCalendar.objects.create(tenant=actor.tenant, name=name, weekend_days=weekend)
        _set_manual_holidays(actor, cal, list(holidays))
        _audit(actor, "WorkCalendar.create", cal, {"name": name, "holidays": len(holidays)})
    return cal


def calendar_update(
    *,
    actor: Actor,
    calendar_id: int,
    name=UNSET,
    weekend_days=UNSET,
    holidays=UNSET,
) -> WorkCalendar:
    """Rename, change the weekend, or replace the typed-in holidays of a calendar."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        cal = _get(WorkCalendar, actor, calendar_id, "Calendar")
        cal = WorkCalendar.objects.select_for_update().get(pk=cal.pk)
        changed = []
        if name is not UNSET and name != cal.name:
            if WorkCalendar.objects.filter(tenant=actor.tenant, name=name).exists():
                raise Conflict(f"name: a calendar named '{name}' already exists.")
            cal.name = name
            changed.append("name")
        if weekend_days is not UNSET:
            cal.weekend_days = _weekend(weekend_days)
            changed.append("weekend_days")
        if changed:
            cal.save(update_fields=changed)
        if holidays is not UNSET:
            _set_manual_holidays(actor, cal, list(holidays))
            changed.append("holidays")
        _audit(actor, "WorkCalendar.update", cal, {"changed": changed})
    return cal


def calendar_import_holidays(
    *, actor: Actor, calendar_id: int, country: str, years: list[int]
) -> dict:
    """Add a country's public holidays (observed days included) for the years; idempotent."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    try:
        found = holiday_dates(country, years)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise DomainError(str(exc), details={"field": field}) from None
    created = updated = 0
    with transaction.atomic():
        cal = _get(WorkCalendar, actor, calendar_id, "Calendar")
        existing = {h.day: h for h in cal.holidays.all()}
        for day, label in found.items():
            h = existing.get(day)
            if h is None:
                Holiday.objects.create(
                    tenant=actor.tenant,
                    calendar=cal,
                    day=day,
                    name=label[:200],
                    source=Holiday.Source.IMPORTED,
                )
                created += 1
            elif h.source == Holiday.Source.IMPORTED and h.name != label[:200]:
                h.name = label[:200]
                h.save(update_fields=["name"])
                updated += 1
        result = {
            "country": country.upper(),
            "years": sorted(set(years)),
            "found": len(found),
            "created": created,
            "updated": updated,
        }
        _audit(actor, "WorkCalendar.import_holidays", cal, result)
    return result


# --- divisions -------------------------------------------------------------------------------


def _calendar_by_name(actor: Actor, name: str | None) -> WorkCalendar | None:
    if not name:
        return None
    cal = WorkCalendar.objects.filter(tenant=actor.tenant, name=name).first()
    if cal is None:
        raise NotFound(f"work_calendar: no calendar named '{name}'.")
    return cal


def division_create(
    *, actor: Actor, code: str, name: str = "", work_calendar: str | None = None
) -> Division:
    """A new division, optionally with the calendar its accounts work by."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        if Division.objects.filter(tenant=actor.tenant, code=code).exists():
            raise Conflict(f"code: a division with code '{code}' already exists.")
        div = Division.objects.create(
            tenant=actor.tenant,
            code=code,
            name=name,
            work_calendar=_calendar_by_name(actor, work_calendar),
        )
        _audit(actor, "Division.create", div, {"code": code, "work_calendar": work_calendar})
    return div


def division_update(*, actor: Actor, division_id: int, name=UNSET, work_calendar=UNSET) -> Division:
    """Change a division's name or calendar (None: Saturday/Sunday off)."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        div = _get(Division, actor, division_id, "Division")
        changed = {}
        if name is not UNSET:
            div.name = changed["name"] = name
        if work_calendar is not UNSET:
            div.work_calendar = _calendar_by_name(actor, work_calendar)
            changed["work_calendar"] = work_calendar
        div.save()
        _audit(actor, "Division.update", div, changed)
    return div


# --- request types ---------------------------------------------------------------------------

TYPE_FIELDS = (
    "name",
    "invoice_mode",
    "bill_generation",
    "approval_required",
    "defer_charge_count",
    "wait_days",
    "threshold_days",
)


def _type_check(t: InvoiceRequestType) -> None:
    type_rules_check(
        invoice_mode=t.invoice_mode,
        bill_generation=t.bill_generation,
        approval_required=t.approval_required,
        defer_charge_count=t.defer_charge_count,
    )


def request_type_create(*, actor: Actor, code: str, **values) -> InvoiceRequestType:
    """A new request type; a combination SPEC 5 does not allow is refused naming the rule."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    calendar = values.pop("work_calendar", None)
    t = InvoiceRequestType(tenant=actor.tenant, code=code, **values)
    _type_check(t)
    with transaction.atomic():
        if InvoiceRequestType.objects.filter(tenant=actor.tenant, code=code).exists():
            raise Conflict(f"code: a request type with code '{code}' already exists.")
        t.work_calendar = _calendar_by_name(actor, calendar)
        t.save()
        _audit(
            actor,
            "InvoiceRequestType.create",
            t,
            {k: getattr(t, k) for k in TYPE_FIELDS} | {"code": code, "work_calendar": calendar},
        )
    return t


def request_type_update(*, actor: Actor, type_id: int, **values) -> InvoiceRequestType:
    """Change a request type; the result must still be an allowed combination."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        t = _get(InvoiceRequestType, actor, type_id, "Invoice request type")
        if "work_calendar" in values:
            t.work_calendar = _calendar_by_name(actor, values.pop("work_calendar"))
        for k, v in values.items():
            setattr(t, k, v)
        _type_check(t)
        t.save()
        _audit(actor, "InvoiceRequestType.update", t, {"changed": sorted(values)})
    return t


# --- accounts, memberships, characteristics ----------------------------------------------------


def _division_by_code(actor: Actor, code: str | None) -> Division | None:
    if not code:
        return None
    div = Division.objects.filter(tenant=actor.tenant, code=code).first()
    if div is None:
        raise NotFound(f"division: no division with code '{code}'.")
    return div


def _payer_by_code(actor: Actor, code: str | None) -> Payer | None:
    if not code:
        return None
    from invoicing.selectors import visible_payer_ids

    payer = Payer.objects.filter(tenant=actor.tenant, code=code.upper()).first()
    allowed = visible_payer_ids(actor)
    if payer is None or (allowed is not None and payer.pk not in allowed):
        raise NotFound(f"payer: no payer with code '{code}'.")
    return payer


def _bill_cycle_day(value: int) -> int:
    if not 1 <= value <= 28:
        raise DomainError(
            f"bill_cycle_day: expected 1-28, found {value}", details={"field": "bill_cycle_day"}
        )
    return value


def account_create(
    *,
    actor: Actor,
    number: str,
    name: str = "",
    bill_cycle_day: int,
    division: str | None = None,
    payer: str | None = None,
) -> Account:
    """A new account (bill cycle day 1-28), optionally in a division and invoicing a payer."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        if Account.objects.filter(tenant=actor.tenant, number=number).exists():
            raise Conflict(f"number: an account numbered '{number}' already exists.")
        acc = Account.objects.create(
            tenant=actor.tenant,
            number=number,
            name=name,
            bill_cycle_day=_bill_cycle_day(bill_cycle_day),
            division=_division_by_code(actor, division),
            payer=_payer_by_code(actor, payer),
        )
        _audit(
            actor,
            "Account.create",
            acc,
            {"number": number, "bill_cycle_day": bill_cycle_day, "division": division},
        )
    return acc


def account_update(*, actor: Actor, account: Account, **values) -> Account:
    """Change an account's name, bill cycle day, division or payer."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        acc = Account.objects.select_for_update().get(pk=account.pk, tenant=actor.tenant)
        if "name" in values:
            acc.name = values["name"]
        if "bill_cycle_day" in values:
            acc.bill_cycle_day = _bill_cycle_day(values["bill_cycle_day"])
        if "division" in values:
            acc.division = _division_by_code(actor, values["division"])
        if "payer" in values:
            acc.payer = _payer_by_code(actor, values["payer"])
        acc.save()
        _audit(actor, "Account.update", acc, {"changed": sorted(values)})
    return acc


def _log(actor: Actor, membership: Membership, event: str, message: str) -> None:
    MembershipLog.objects.create(
        tenant=actor.tenant,
        membership=membership,
        event=event,
        message=message,
        actor_label=actor.label,
    )


def membership_create(
    *, actor: Actor, account: Account, external_id: str, kind: str, status: str
) -> Membership:
    """A new membership on the account (a log line records it)."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        if Membership.objects.filter(account=account, external_id=external_id).exists():
            raise Conflict("external_id: the account already has a membership with this id.")
        m = Membership.objects.create(
            tenant=actor.tenant, account=account, external_id=external_id, kind=kind, status=status
        )
        _log(actor, m, "CREATED", f"Membership added ({kind.lower()}, {status.lower()}).")
        _audit(actor, "Membership.create", m, {"account": account.number, "kind": kind})
    return m


def membership_update(*, actor: Actor, membership: Membership, **values) -> Membership:
    """Change a membership's kind or status (a log line records it)."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        m = Membership.objects.select_for_update().get(pk=membership.pk, tenant=actor.tenant)
        changes = [f"{k} {getattr(m, k)} -> {v}" for k, v in values.items() if getattr(m, k) != v]
        for k, v in values.items():
            setattr(m, k, v)
        m.save()
        if changes:
            _log(actor, m, "UPDATED", "Membership changed: " + "; ".join(changes) + ".")
        _audit(actor, "Membership.update", m, {"changed": sorted(values)})
    return m


def characteristic_set(
    *, actor: Actor, membership: Membership, type: str, value: str, effective_from: date
) -> MembershipCharacteristic:
    """Set a characteristic from a day on (same type and day: the value is replaced)."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        char, created = MembershipCharacteristic.objects.update_or_create(
            membership=membership,
            type=type,
            effective_from=effective_from,
            defaults={"tenant": actor.tenant, "value": value},
        )
        _log(
            actor,
            membership,
            "CHARACTERISTIC",
            f"{type} = {value} from {effective_from:%Y-%m-%d}"
            + ("." if created else " (replaced)."),
        )
        _audit(
            actor,
            "MembershipCharacteristic.set",
            char,
            {"type": type, "value": value, "effective_from": effective_from.isoformat()},
        )
    return char
