"""Helpers shared by the billing screens."""

from __future__ import annotations

from datetime import date

from django.http import HttpResponse
from django.shortcuts import render

from core.exceptions import DomainError
from core.months import MonthError, parse_month


def month_param(text: str | None) -> date | None:
    """'2026-11' -> date(2026, 11, 1); absent or not a valid month (core.months) -> None."""
    try:
        return parse_month(text)
    except MonthError:
        return None


def month_input(text: str | None) -> date:
    """A month typed in a screen's form: its first day, or DomainError('month: expected ...')."""
    try:
        return parse_month((text or "").strip())
    except MonthError as exc:
        raise DomainError(f"month: {exc}") from None


def month_filter(q, name: str = "month") -> tuple[date | None, str]:
    """A list's `?month=` filter: (the month or None, the error to show beside the field)."""
    text = (q.get(name) or "").strip()
    if not text:
        return None, ""
    try:
        return parse_month(text), ""
    except MonthError as exc:
        return None, str(exc)


def not_found(request, what: str) -> HttpResponse:
    """The friendly 404 page naming what was not found."""
    return render(request, "core/not_found.html", {"what": what}, status=404)
