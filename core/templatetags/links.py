"""`{{ entry|object_link }}`: an audit entry's object, linked to its page when an app knows it."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from core.links import link_for, name_for

register = template.Library()


@register.filter
def object_link(entry) -> str:
    """'Run 12' linked to the run's page; unknown objects as 'type id' text."""
    otype, oid = getattr(entry, "object_type", ""), getattr(entry, "object_id", "")
    text = f"{name_for(otype)} {oid}".strip()
    url = link_for(otype, oid)
    if url:
        return format_html('<a href="{}" class="object-link">{}</a>', url, text)
    return format_html("{}", text)
