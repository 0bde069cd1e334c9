"""Helpers shared by invoicing's screens: typed dates, errors beside fields, 404 page."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from core.exceptions import DomainError
from core.months import MonthError, parse_date


def not_found(request: HttpRequest, what: str) -> HttpResponse:
    """The friendly 404 page naming what was not found."""
    return render(request, "core/not_found.html", {"what": what}, status=404)


def optional_date(values, name: str, errors: dict) -> date | None:
    """A date typed in a form field (YYYY-MM-DD) or None; a wrong one goes to errors[name]."""
    text = (values.get(name) or "").strip()
    if not text:
        return None
    try:
        return parse_date(text)
    except MonthError as exc:
        errors[name] = str(exc)
        return None


def field_of(exc: DomainError, fields: tuple[str, ...], default: str = "general") -> str:
    """Which form field a refusal is about: 'bill_date: ...' or details={'field': ...}."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if details.get("field") in fields:
        return details["field"]
    head = exc.message.split(":", 1)[0].strip()
    return head if head in fields else default


def message_for(exc: DomainError, field: str) -> str:
    """The refusal without its 'field:' prefix when shown beside that field."""
    head, _, rest = exc.message.partition(":")
    return rest.strip() if head.strip() == field and rest else exc.message


def back(request: HttpRequest, default: str, *args):
    """Redirect to ?next= (same host only) or to the named default page."""
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
        return redirect(nxt)
    return redirect(default, *args)
