"""The Django admin in the permission matrix, generated from the admin site's registry.

What the product promises (core/admin.py, README "Tenants, roles and scopes"): the admin is for
platform operators only. It is not tenant-filtered, so it is gated as a whole: the site lets in
active staff users only, and a staff user sees a model only with Django's model permissions
(the demo's `demo-superuser` has them all). Tenant roles are never staff: every tenant member,
another tenant's owner and anonymous visitors are sent to the admin sign-in page for every
admin URL; a staff user without model permissions gets 403 on every model page.

Every admin route must be a generated page (a registered ModelAdmin's changelist, add, change,
delete, history or its own extra views) or be listed in ADMIN_EXEMPT with a reason.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import NoReverseMatch, reverse

from billing.models import Payer
from core import scopes as S
from tests.urlwalk import all_routes

STANDARD_PAGES = ("changelist", "add", "change", "delete", "history")
MISSING_PK = "987654321"

# admin route name -> why the per-model matrix does not cover it
ADMIN_EXEMPT: dict[str, str] = {
    "admin:login": "the admin sign-in page itself, open to everyone",
    "admin:logout": "signs the caller's own session out",
    "admin:password_change": "changes the signed-in staff user's own password",
    "admin:password_change_done": "static confirmation page of the staff user's own change",
    "admin:jsi18n": "JavaScript translation catalogue, no data",
    "admin:autocomplete": "serves only models the caller may view (Django checks per model)",
    "admin:view_on_site": "redirects to the object's public URL, which has its own matrix entry",
    "admin:auth_user_password_change": "Django's set-password form, gated like the user change",
}


def _registered():
    return sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label)


def _extra_names(model, model_admin) -> list[str]:
    """Named views a ModelAdmin adds to Django's standard five (e.g. guardian's permissions)."""
    opts = model._meta
    standard = {f"{opts.app_label}_{opts.model_name}_{p}" for p in STANDARD_PAGES}
    names = []
    for pattern in model_admin.get_urls():
        name = getattr(pattern, "name", None)
        if name and name not in standard and name not in ADMIN_EXEMPT_SHORT:
            names.append(name)
    return names


ADMIN_EXEMPT_SHORT = {n.split(":", 1)[1] for n in ADMIN_EXEMPT}


def _pages(model, model_admin, obj_pk: str, user_pk: str, group_pk: str) -> list[tuple[str, str]]:
    """(page, url) for every page of one registered model."""
    opts = model._meta
    base = f"admin:{opts.app_label}_{opts.model_name}"
    pages = [
        ("changelist", reverse(f"{base}_changelist")),
        ("add", reverse(f"{base}_add")),
        ("change", reverse(f"{base}_change", args=[obj_pk])),
        ("delete", reverse(f"{base}_delete", args=[obj_pk])),
        ("history", reverse(f"{base}_history", args=[obj_pk])),
    ]
    for name in _extra_names(model, model_admin):
        second = group_pk if name.endswith("_group") else user_pk
        for args in ([obj_pk], [obj_pk, second], []):
            try:
                pages.append((name, reverse(f"admin:{name}", args=args)))
                break
            except NoReverseMatch:
                continue
    return pages


def _staff_without_perms():
    user = get_user_model().objects.create_user("ops-no-perms", is_staff=True)
    return user


def _superuser():
    return get_user_model().objects.create_superuser("ops-root", password="x")


def _client(user=None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _to_admin_index(response) -> bool:
    return response.status_code == 302 and response.headers.get("Location") == reverse(
        "admin:index"
    )


def _to_admin_login(response) -> bool:
    return response.status_code == 302 and response.headers.get("Location", "").startswith(
        reverse("admin:login")
    )


@pytest.mark.parametrize(
    "model, model_admin",
    _registered(),
    ids=lambda v: getattr(getattr(v, "_meta", None), "label", ""),
)
def test_admin_pages_gate_every_role(model, model_admin, world):
    """Anonymous, every tenant role and another tenant's owner: sent to the admin sign-in;
    a staff user without model permissions: 403; a superuser: the page opens."""
    Payer.objects.create(tenant=world.tenant, code="ADM", name="Admin Matrix Payer")
    group = Group.objects.create(name="matrix-operators")
    obj = model._default_manager.order_by("pk").first()
    obj_pk = str(obj.pk) if obj is not None else MISSING_PK
    owner_pk = str(world.users[S.Role.OWNER].pk)
    pages = _pages(model, model_admin, obj_pk, owner_pk, str(group.pk))
    problems = []

    outsiders = {"anonymous": _client(), "other tenant owner": _client(world.outsider)}
    for role in [r.value for r in S.Role]:
        outsiders[role] = _client(world.users[role])
    for who, client in outsiders.items():
        for page, url in pages:
            response = client.get(url)
            if not _to_admin_login(response):
                problems.append(
                    f"{who} {page}: expected the admin sign-in, got {response.status_code}"
                )

    staff = _client(_staff_without_perms())
    for page, url in pages:
        response = staff.get(url)
        # refused, or (Django's history of a missing row, guardian's views) sent to the index
        if response.status_code != 403 and not _to_admin_index(response):
            problems.append(
                f"staff without permissions {page}: expected 403, got {response.status_code}"
            )

    root = _client(_superuser())
    request = type("R", (), {"user": get_user_model().objects.get(username="ops-root")})()
    for page, url in pages:
        response = root.get(url)
        refused = (page == "add" and not model_admin.has_add_permission(request)) or (
            page == "delete" and not model_admin.has_delete_permission(request, obj)
        )
        if refused:
            expected = {403}
        elif obj is None and page in STANDARD_PAGES and page not in ("changelist", "add"):
            expected = {302}  # Django: "no such object", back to the admin index
        elif obj is None and page not in STANDARD_PAGES:
            expected = {404}  # guardian's per-object views: no such object
        else:
            expected = {200}
        if response.status_code not in expected:
            problems.append(
                f"superuser {page}: expected {sorted(expected)}, got {response.status_code}"
            )
    assert not problems, f"{model._meta.label}: " + "; ".join(problems)


def test_admin_site_pages_are_for_staff_only(world):
    index, app_list = reverse("admin:index"), reverse("admin:app_list", args=["billing"])
    for who in [None, world.outsider, *world.users.values()]:
        for url in (index, app_list):
            assert _to_admin_login(_client(who).get(url)), (who, url)
    staff = _client(_staff_without_perms())
    assert staff.get(index).status_code == 200
    assert b"Billing run" not in staff.get(index).content  # no model without a permission
    assert staff.get(app_list).status_code == 404  # an app with nothing it may see
    root = _client(_superuser())
    assert root.get(index).status_code == 200
    assert b"Billing runs" in root.get(app_list).content


def test_every_admin_route_is_generated_or_exempt():
    generated = {"admin:index", "admin:app_list"}
    for model, model_admin in _registered():
        opts = model._meta
        generated |= {f"admin:{opts.app_label}_{opts.model_name}_{p}" for p in STANDARD_PAGES}
        generated |= {f"admin:{n}" for n in _extra_names(model, model_admin)}
    missing = []
    for r in all_routes():
        if not r.route.startswith("admin/"):
            continue
        if not r.name and r.route.endswith("<path:object_id>/"):
            continue  # Django's old-style object URL: a redirect to the change page
        if not r.name and r.route == "admin/(?P<url>.*)$":
            continue  # Django's catch-all: sign-in for visitors, 404 for staff
        if r.name not in generated and r.name not in ADMIN_EXEMPT:
            missing.append(f"{r.route} ({r.name or 'unnamed'})")
    assert not missing, "admin routes with no expectation:\n" + "\n".join(missing)
