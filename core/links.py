"""Links from audit entries to the pages of their objects, without core importing any app.

Apps register a resolver per object type (`"billing.BillingRun"`) in their AppConfig.ready();
the resolver takes the object id (a string) and returns a URL, or None when there is no page.
"""

from __future__ import annotations

from collections.abc import Callable

Resolver = Callable[[str], str | None]

_RESOLVERS: dict[str, tuple[Resolver, str]] = {}


def register_link(object_type: str, fn: Resolver, *, name: str = "") -> None:
    """Make objects of `object_type` linkable; `name` is how the object reads ("Run")."""
    _RESOLVERS[object_type] = (fn, name)


def link_for(object_type: str, object_id) -> str | None:
    """The URL of an object's page, or None (unknown type, no id, or no page)."""
    entry = _RESOLVERS.get(object_type or "")
    if entry is None or object_id in (None, ""):
        return None
    return entry[0](str(object_id))


def name_for(object_type: str) -> str:
    """How an object type reads ("Run"), or the type itself when unregistered."""
    entry = _RESOLVERS.get(object_type or "")
    return entry[1] if entry and entry[1] else (object_type or "")
