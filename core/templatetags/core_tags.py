"""Template helpers shared by the screens."""

from django import template

register = template.Library()

_BADGES = {
    "green": {"COMPLETED", "SUCCESS", "ACTIVE", "READY", "APPROVED", "RESOLVED"},
    "amber": {"COMPLETED_WITH_EXCEPTIONS", "SKIPPED", "DRAFT", "OPEN"},
    "red": {"FAILED", "ERROR", "REJECTED"},
    "blue": {"QUEUED", "RUNNING", "PENDING", "PROCESSING", "BUILDING"},
}


@register.filter
def get(mapping, key):
    """mapping[key], or an empty string."""
    if isinstance(mapping, dict):
        value = mapping.get(key, "")
        return "" if value is None else value
    return ""


@register.filter
def badge(status: str) -> str:
    """The badge colour of a status."""
    for colour, statuses in _BADGES.items():
        if status in statuses:
            return colour
    return "grey"


@register.filter
def humanize_status(status: str) -> str:
    """COMPLETED_WITH_EXCEPTIONS -> completed with exceptions."""
    return str(status).replace("_", " ").lower()
