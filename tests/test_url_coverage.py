"""Every URL of the project x every method its view answers has a matrix expectation.

The routes come from walking the URL resolver (tests/urlwalk.py), not from a list: a new endpoint
or screen without a registered `Endpoint` (tests/<app>/*endpoints*.py) or an entry in EXEMPT
below fails here, naming the route and method. Admin routes are generated from the admin site's
registry and checked in tests/test_url_coverage_admin.py.
"""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve

from tests import permissions
from tests.urlwalk import Route, all_routes, methods_of

# (route, method) -> why the permission matrix does not cover it. Nothing tenant-scoped belongs
# here: these answer the same to everyone, or are the sign-in machinery itself.
EXEMPT: dict[tuple[str, str], str] = {
    ("api/schema/", "GET"): "OpenAPI schema: public description of the API, no tenant data",
    ("api/docs/", "GET"): "Swagger UI page for the schema, no tenant data",
    ("login/", "GET"): "sign-in page, open to everyone by design",
    ("login/", "POST"): "sign-in form (tests/core/test_login*.py, lockout and rate tests)",
    ("login/", "PUT"): "Django's LoginView maps PUT to POST; same as the sign-in form",
    ("logout/", "POST"): "sign-out, acts only on the caller's own session",
    ("password-reset/", "GET"): "password reset request, open to everyone by design",
    ("password-reset/sent/", "GET"): "static 'check your mail' page",
    ("password-reset/<uidb64>/<token>/", "GET"): "reset link: the signed token is the access",
    ("password-reset/<uidb64>/<token>/", "POST"): "reset form: the signed token is the access",
    ("password-reset/<uidb64>/<token>/", "PUT"): "Django maps PUT to POST on the reset form",
    ("password-reset/done/", "GET"): "static 'password changed' page",
    ("invitations/<str:token>/", "GET"): "invitation link: the one-time token is the access",
    ("invitations/<str:token>/", "POST"): "accepting an invitation: the token is the access",
}


class _Anything:
    """Stands in for any ctx value when only the shape of an endpoint's URL is needed."""

    def __str__(self) -> str:
        return "1"

    __format__ = lambda self, spec: "1"  # noqa: E731
    __int__ = lambda self: 1  # noqa: E731

    def __getattr__(self, name):
        return _Anything()

    def __getitem__(self, key):
        return _Anything()


class _AnyCtx(dict):
    def __missing__(self, key):
        return _Anything()


def _route_of(path: str) -> tuple[object, str] | None:
    try:
        match = resolve(path.split("?", 1)[0])
    except Resolver404:
        return None
    return (match.func, match.route)


def _normal(route: str) -> str:
    # ResolverMatch.route drops the regex anchors the walk keeps
    return route.replace("^", "").replace("$", "")


def covered_keys(world=None) -> tuple[set[tuple[int, str, str]], list[str]]:
    """(callback id, route, method) of every registered endpoint, and the ones not resolving."""
    keys, unresolved = set(), []
    for ep in permissions.load_registries():
        try:
            found = _route_of(ep.url(_AnyCtx()))
        except Exception:  # noqa: BLE001  (a URL built from real objects: fall back below)
            found = None
        if found is None and world is not None:
            found = _route_of(ep.url(ep.setup(world)))
        if found is None:
            unresolved.append(ep.name)
            continue
        func, route = found
        keys.add((id(func), _normal(route), ep.method.upper()))
    return keys, unresolved


def _app_routes() -> list[Route]:
    return [r for r in all_routes() if not r.route.startswith("admin/")]


def test_url_walk_finds_api_screens_and_auth_pages():
    # the walk itself must see every kind of route, or the coverage check proves nothing
    routes = {r.route for r in all_routes()}
    assert "api/billing/runs" in routes
    assert "billing/runs/<int:pk>/" in routes
    assert "login/" in routes
    assert any(r.startswith("admin/") for r in routes)
    assert len(routes) > 300


def test_methods_of_reads_decorators_and_view_classes():
    by_route = {r.route: r for r in all_routes()}
    assert methods_of(by_route["tenant/switch/"]) == {"POST"}  # @require_POST
    assert methods_of(by_route["api/billing/runs"]) == {"GET", "POST"}  # DRF view
    assert methods_of(by_route["billing/rules/"]) == {"GET", "POST"}  # reads request.POST
    assert methods_of(by_route["billing/members/"]) == {"GET"}


def test_every_route_and_method_has_an_expectation(world):
    keys, unresolved = covered_keys(world)
    assert not unresolved, f"registered endpoints whose URL resolves to no route: {unresolved}"
    missing = []
    for r in _app_routes():
        for method in sorted(methods_of(r)):
            if (r.route, method) in EXEMPT:
                continue
            if (id(r.callback), _normal(r.route), method) not in keys:
                missing.append(f"{method} {r.route} ({r.name or 'unnamed'})")
    assert not missing, (
        "routes without a permission-matrix Endpoint or an EXEMPT entry with a reason:\n"
        + "\n".join(missing)
    )


def test_exemptions_name_real_routes():
    # a stale exemption would silently cover a future route of the same text
    live = {(r.route, m) for r in _app_routes() for m in methods_of(r)}
    assert not set(EXEMPT) - live, f"exempt but no such route: {sorted(set(EXEMPT) - live)}"


@pytest.mark.parametrize("reason", list(EXEMPT.values()))
def test_every_exemption_gives_a_reason(reason):
    assert len(reason) > 10


# --- per-payer grants ------------------------------------------------------------------------
# Rule: an endpoint's data is payer-scoped when it is a read (GET: list, detail, export, report)
# served by a view of an app that has a model with a foreign key to billing.Payer (worked out
# from the app registry below: billing, denials, invoicing today). Such an endpoint must set
# `payer_scoped=True` (assert_matrix then checks that a member granted only another payer gets
# 404 / never sees the marker), or be listed here with why it carries no payer's rows.
PAYER_FREE: dict[str, str] = {
    "api correction handlers": "the catalogue of correction handlers, no rows",
    "api denial transitions": "the denial state machine's reference table, no rows",
    "denial status reference": "the denial state reference page, no rows",
    "screen claims run jobs page": "only redirects to the jobs page",
    "api jobs runs": "nightly job runs belong to the tenant, not to a payer",
    "screen claims job health": "nightly job runs belong to the tenant, not to a payer",
    "api invoicing calendar detail": "work calendars have no payer",
    "api invoicing calendars list": "work calendars have no payer",
    "screen invoicing calendar": "work calendars have no payer",
    "screen invoicing calendars": "work calendars have no payer",
    "api invoicing division detail": "divisions have no payer",
    "api invoicing divisions list": "divisions have no payer",
    "api invoicing request type detail": "invoice request types have no payer",
    "api invoicing request types list": "invoice request types have no payer",
    "screen invoicing request form": "the empty form: the tenant's request types (no payer) and "
    "the caller's own query echoed back; the account is looked up only by the preview and the "
    "create POST, both through the payer-narrowed account selector",
}


def payer_scoped_apps() -> set[str]:
    """Labels of the apps with a model holding a foreign key to billing.Payer."""
    from django.apps import apps

    payer = apps.get_model("billing", "Payer")
    return {
        model._meta.app_label
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if f.concrete and getattr(f, "related_model", None) is payer
    }


def test_payer_scoped_reads_check_payer_grants(world):
    scoped_apps = payer_scoped_apps()
    assert {"billing", "denials", "invoicing"} <= scoped_apps
    undeclared, unusable = [], []
    for ep in permissions.load_registries():
        if ep.payer_scoped and not (ep.object_of_tenant or ep.marker):
            unusable.append(ep.name)
        if ep.method != "GET" or ep.payer_scoped or ep.name in PAYER_FREE:
            continue
        try:
            func = resolve(ep.url(_AnyCtx()).split("?", 1)[0]).func
        except Exception:  # noqa: BLE001  (a URL built from real objects)
            func = resolve(ep.url(ep.setup(world)).split("?", 1)[0]).func
        if func.__module__.split(".")[0] in scoped_apps:
            undeclared.append(ep.name)
    assert not unusable, f"payer_scoped without object_of_tenant or a marker: {unusable}"
    assert not undeclared, (
        "reads of payer-scoped data with no payer-grant check (set payer_scoped=True, or add "
        f"a PAYER_FREE reason): {undeclared}"
    )


def test_payer_free_names_registered_endpoints():
    names = {ep.name for ep in permissions.load_registries()}
    assert not set(PAYER_FREE) - names, sorted(set(PAYER_FREE) - names)
