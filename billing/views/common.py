"""Helpers shared by the billing screens."""

from __future__ import annotations

from datetime import date

from django.http import HttpResponse
from django.shortcuts import render


def month_param(text: str | None) -> date | None:
    """'2026-11' (or '2026-11-01') -> date(2026, 11, 1); anything else -> None."""
    try:
        year, month = (text or "").split("-")[:2]
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def not_found(request, what: str) -> HttpResponse:
    """The friendly 404 page naming what was not found."""
    return render(request, "core/not_found.html", {"what": what}, status=404)
