"""Template helpers for the ingestion screens."""

from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """mapping[key], or an empty string."""
    if isinstance(mapping, dict):
        value = mapping.get(key, "")
        return "" if value is None else value
    return ""
