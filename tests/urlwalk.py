"""Walking the URL resolver: every route of the project and the HTTP methods its view answers.

Used by tests/test_url_coverage.py (every route x method must have a matrix expectation or an
exemption) and tests/test_url_coverage_admin.py (the admin's routes).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# A view that does not restrict its methods answers GET; it answers POST as well when its own code
# reads request.POST or tests request.method (a form that posts back). PUT/PATCH/DELETE are only
# counted for class-based views that implement them.
_SAFE_ONLY = {"GET"}


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route text, its view name and the view callback."""

    route: str
    name: str
    callback: object

    @property
    def key(self) -> tuple[int, str]:
        return (id(self.callback), self.route)

    @property
    def module(self) -> str:
        return getattr(self.callback, "__module__", "") or ""


def _walk(resolver, prefix: str, namespace: str):
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = p.name or ""
            full = f"{namespace}:{name}" if namespace and name else name
            yield Route(prefix + str(p.pattern), full, p.callback)


def all_routes() -> list[Route]:
    """Every URL pattern of the project, admin included."""
    return list(_walk(get_resolver(), "", ""))


def _restricted_methods(fn) -> set[str] | None:
    """The methods a require_http_methods-style decorator admits, anywhere on the wrapper chain."""
    while fn is not None:
        code = getattr(fn, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = fn.__closure__[code.co_freevars.index("request_method_list")]
            return {m.upper() for m in cell.cell_contents}
        fn = getattr(fn, "__wrapped__", None)
    return None


def _innermost(fn):
    while getattr(fn, "__wrapped__", None) is not None:
        fn = fn.__wrapped__
    return fn


def methods_of(route: Route) -> set[str]:
    """HTTP methods (HEAD and OPTIONS aside) the route's view answers."""
    cb = route.callback
    cls = getattr(cb, "cls", None) or getattr(cb, "view_class", None)
    if cls is not None:
        return {
            m.upper()
            for m in cls.http_method_names
            if m not in ("head", "options") and hasattr(cls, m)
        }
    restricted = _restricted_methods(cb)
    if restricted is not None:
        return restricted - {"HEAD", "OPTIONS"}
    try:
        source = inspect.getsource(_innermost(cb))
    except (OSError, TypeError):
        return set(_SAFE_ONLY)
    if "request.POST" in source or "request.method" in source:
        return {"GET", "POST"}
    return set(_SAFE_ONLY)
