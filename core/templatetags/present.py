"""Readable values on screens: money, code labels, key/value lists, times in the tenant's zone."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.labels import label_for

register = template.Library()


@register.filter
def money(value, places: int = 2) -> str:
    """Decimal -> '$1,234.50' (negative: '-$1,234.50'); empty for None or non-numbers."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = number_format(abs(amount), decimal_pos=int(places), force_grouping=True)
    sign = "-" if amount < 0 else ""
    return f"{sign}{settings.CURRENCY_SYMBOL}{text}"


@register.filter
def number(value) -> str:
    """An integer with thousands separators: 83180 -> '83,180'."""
    if value is None or value == "":
        return ""
    return number_format(value, force_grouping=True)


@register.filter
def label(code) -> str:
    """A code as people read it: NOT_BILLED_NO_SERVICE -> 'Not billed: no service'."""
    return label_for(code)


def _scalar(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    return str(value)


def _render(value):
    if isinstance(value, dict):
        if not value:
            return mark_safe('<span class="muted">none</span>')
        items = format_html_join(
            "", "<dt>{}</dt><dd>{}</dd>", ((label_for(k), _render(v)) for k, v in value.items())
        )
        return format_html('<dl class="kv">{}</dl>', items)
    if isinstance(value, list | tuple):
        if not value:
            return mark_safe('<span class="muted">none</span>')
        if all(not isinstance(v, dict | list | tuple) for v in value):
            return ", ".join(_scalar(v) for v in value)
        return format_html(
            '<ol class="kv-list">{}</ol>',
            format_html_join("", "<li>{}</li>", ((_render(v),) for v in value)),
        )
    return _scalar(value)


@register.filter
def kv(value):
    """A dict or list as a nested key/value list (HTML, escaped); a scalar as text."""
    return format_html("{}", _render(value))


@register.filter
def when(value) -> str:
    """An aware datetime in the tenant's zone, to the minute: '2026-12-03 14:05 EST'."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@register.filter
def month(value) -> str:
    """A first-of-month date as '2026-11'."""
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return "" if value is None else str(value)
