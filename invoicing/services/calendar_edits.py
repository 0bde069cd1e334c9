"""One holiday at a time on a work calendar (the calendar screen): add one, remove one.

Same scope and audit as `invoicing.services.setup` (which replaces a calendar's typed-in holidays
as a whole for the API): who may change how requests are dated manages the calendars.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from invoicing.models import Holiday, WorkCalendar


def _calendar(actor: Actor, calendar_id: int) -> WorkCalendar:
    cal = (
        WorkCalendar.objects.select_for_update().filter(tenant=actor.tenant, pk=calendar_id).first()
    )
    if cal is None:
        raise NotFound(f"Calendar {calendar_id} does not exist.")
    return cal


def holiday_add(*, actor: Actor, calendar_id: int, day: date, name: str = "") -> Holiday:
    """Add a typed-in holiday; a day already on the calendar is a conflict naming it."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    name = (name or "").strip()
    if len(name) > 200:
        raise DomainError(
            f"name: expected at most 200 characters, found {len(name)}.", details={"field": "name"}
        )
    with transaction.atomic():
        cal = _calendar(actor, calendar_id)
        if cal.holidays.filter(day=day).exists():
            raise Conflict(
                f"day: {day:%Y-%m-%d} is already a holiday on {cal.name}.",
                details={"field": "day"},
            )
        holiday = Holiday.objects.create(
            tenant=actor.tenant, calendar=cal, day=day, name=name, source=Holiday.Source.MANUAL
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WorkCalendar.holiday_add",
            obj=cal,
            payload={"day": day.isoformat(), "holiday_name": name},
        )
    return holiday


def holiday_remove(*, actor: Actor, calendar_id: int, day: date) -> None:
    """Remove a holiday (typed in or imported): the day becomes a working day again."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    with transaction.atomic():
        cal = _calendar(actor, calendar_id)
        holiday = cal.holidays.filter(day=day).first()
        if holiday is None:
            raise NotFound(f"day: {day:%Y-%m-%d} is not a holiday on {cal.name}.")
        source = holiday.source
        holiday.delete()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="WorkCalendar.holiday_remove",
            obj=cal,
            payload={"day": day.isoformat(), "source": source},
        )
