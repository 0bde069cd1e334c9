"""Invoicing screens: work calendars (weekend days, holidays added and removed one at a time,
public holidays imported for a country and years)."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from core import scopes as S
from core.exceptions import DomainError, NotFound
from core.transitions import state_reload
from core.views import tenant_view
from invoicing import selectors
from invoicing.models import WEEKDAY_CODES
from invoicing.services import calendar_edits, setup
from invoicing.views.common import field_of, message_for, not_found, optional_date


@tenant_view(S.INVOICING_VIEW, post_scope=S.INVOICING_TYPE_MANAGE)
def calendar_list(request: HttpRequest) -> HttpResponse:
    """The calendars; a form to add one (for those who manage types and calendars)."""
    actor = request.actor
    errors: dict = {}
    name = ""
    if request.method == "POST":
        name = (request.POST.get("name") or "").strip()
        if not name:
            errors["name"] = "type a name for the calendar."
        else:
            try:
                cal = setup.calendar_create(
                    actor=actor, name=name, weekend_days=request.POST.getlist("weekend_days")
                )
            except DomainError as exc:
                field = field_of(exc, ("name", "weekend_days"), default="name")
                errors[field] = message_for(exc, field)
            else:
                messages.success(request, f"Calendar {cal.name} created.")
                return redirect("invoicing:calendar", pk=cal.pk)
    return render(
        request,
        "invoicing/calendars.html",
        {
            "calendars": selectors.calendar_list(actor).prefetch_related("holidays"),
            "weekdays": WEEKDAY_CODES,
            "name": name,
            "errors": errors,
            "can_manage": actor.has(S.INVOICING_TYPE_MANAGE),
        },
        status=400 if errors else 200,
    )


def _years(text: str) -> list[int] | None:
    """'2026, 2027' or '2026-2028' -> years; None when not that shape."""
    text = (text or "").strip()
    if m := re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", text):
        low, high = int(m[1]), int(m[2])
        return list(range(low, high + 1)) if low <= high and high - low < 20 else None
    parts = [p for p in re.split(r"[\s,]+", text) if p]
    if not parts or not all(re.fullmatch(r"\d{4}", p) for p in parts):
        return None
    return [int(p) for p in parts]


def _handle(request: HttpRequest, cal) -> tuple[dict, str, int]:
    """Apply the posted action; (errors by field, success message, HTTP status)."""
    errors, done, status = {}, "", 400
    try:
        errors, done = _apply(request, cal)
    except DomainError as exc:
        errors, status = _refusal(request.POST.get("action", ""), exc), exc.http_status
    return errors, done, (200 if not errors else status)


def _refusal(action: str, exc: DomainError) -> dict:
    """A service's refusal, beside the field of the form it is about."""
    fields = {
        "weekend": ("weekend_days",),
        "add": ("day", "name"),
        "import": ("country", "years"),
    }.get(action, ())
    default = {"weekend": "weekend_days", "add": "day", "import": "country"}.get(action, "remove")
    field = field_of(exc, fields, default=default)
    return {field: message_for(exc, field)}


def _apply(request: HttpRequest, cal) -> tuple[dict, str]:
    """Apply the posted action; (errors by field, success message)."""
    actor, post = request.actor, request.POST
    action = post.get("action", "")
    errors: dict = {}
    if action == "weekend":
        setup.calendar_update(
            actor=actor, calendar_id=cal.pk, weekend_days=post.getlist("weekend_days")
        )
        return {}, "Weekend days saved."
    if action == "add":
        day = optional_date(post, "day", errors)
        if day is None and not errors:
            errors["day"] = "type the holiday's date (YYYY-MM-DD)."
        if errors:
            return errors, ""
        calendar_edits.holiday_add(
            actor=actor, calendar_id=cal.pk, day=day, name=post.get("name", "")
        )
        return {}, f"Holiday {day:%Y-%m-%d} added."
    if action == "remove":
        day = optional_date(post, "day", errors)
        if day is None:
            return {"remove": errors.get("day", "no day given.")}, ""
        calendar_edits.holiday_remove(actor=actor, calendar_id=cal.pk, day=day)
        return {}, f"Holiday {day:%Y-%m-%d} removed; it is a working day again."
    if action == "import":
        years = _years(post.get("years", ""))
        if years is None:
            return {"years": "expected years like 2026, 2027 or 2026-2028."}, ""
        result = setup.calendar_import_holidays(
            actor=actor, calendar_id=cal.pk, country=post.get("country", ""), years=years
        )
        return {}, (
            f"Imported {result['country']} holidays for {', '.join(map(str, result['years']))}"
            f": {result['found']} found, {result['created']} added, "
            f"{result['updated']} renamed."
        )
    return {"general": "unknown action."}, ""


@tenant_view(S.INVOICING_VIEW, post_scope=S.INVOICING_TYPE_MANAGE)
def calendar_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A calendar's editor: weekend days, holidays (add, remove), import from a country."""
    actor = request.actor
    try:
        cal = selectors.calendar_get(actor, pk)
    except NotFound:
        return not_found(request, f"Calendar {pk}")
    errors: dict = {}
    status = 200
    if request.method == "POST":
        errors, done, status = _handle(request, cal)
        if not errors:
            messages.success(request, done)
            return redirect("invoicing:calendar", pk=cal.pk)
        state_reload(cal)
    this_year = timezone.localdate().year
    return render(
        request,
        "invoicing/calendar.html",
        {
            "cal": cal,
            "holidays": cal.holidays.order_by("day"),
            "weekdays": WEEKDAY_CODES,
            "errors": errors,
            "posted": request.POST if errors else {},
            "years_default": f"{this_year}, {this_year + 1}",
            "can_manage": actor.has(S.INVOICING_TYPE_MANAGE),
            "types": selectors.request_type_list(actor).filter(work_calendar=cal),
            "divisions": cal.divisions.order_by("code"),
        },
        status=status,
    )
