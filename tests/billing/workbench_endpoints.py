"""The member page, payers and rule editing screens and endpoints in the permission matrix
(issue 10): every role, anonymous, and another tenant's user."""

from __future__ import annotations

from core import scopes as S
from tests.billing import api_builders as b
from tests.billing.endpoints import _draft, _payer, _payer_with_rules
from tests.permissions import Endpoint, register

VIEW, RULES = S.BILLING_RUN_VIEW, S.BILLING_RULES_MANAGE
OK, CREATED = frozenset({200}), frozenset({201})
PAGE, REDIRECT = frozenset({200}), frozenset({302})


def _member(world) -> dict:
    p = b.payer_with_rules(world.tenant)
    m = b.member(world.tenant, p, b.unique("WBM"))
    return {"payer": p.code, "member": m.external_id, "member_pk": m.pk}


def _payer_pk(world) -> dict:
    p = b.payer(world.tenant)
    return {"payer": p.code, "payer_pk": p.pk}


def _new_code(world) -> dict:
    return {"code": b.unique("NEW")}


def _rule_form(c: dict) -> dict:
    return {
        "payer": c["payer"],
        "version": "v7",
        "effective_from": "2027-01-01",
        "proration": "DAILY",
        "retro_window_months": "3",
        "min_billable_days": "1",
        "file_precedence": "MANUAL, AMENDED_FILE, FULL_FILE, CHANGE_FILE",
        "tier_benefit": "MED",
        "tier_min_age": "0",
        "tier_max_age": "64",
        "tier_rate": "412.50",
    }


_member_link = lambda c: f'href="/billing/members/{c["member_pk"]}/"'  # noqa: E731
_member_json = lambda c: f'"member_id":"{c["member"]}"'  # noqa: E731
_payer_code = lambda c: c["payer"]  # noqa: E731
_json_code = lambda c: f'"{c["payer"]}"'  # noqa: E731

register(
    # members
    Endpoint(
        "screen billing members search",
        "GET",
        lambda c: f"/billing/members/?q={c['member']}",
        VIEW,
        kind="screen",
        setup=_member,
        success=PAGE,
        marker=_member_link,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing members csv",
        "GET",
        lambda c: f"/billing/members.csv?q={c['member']}",
        VIEW,
        kind="screen",
        setup=_member,
        success=PAGE,
        marker=lambda c: c["member"],
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing member",
        "GET",
        lambda c: f"/billing/members/{c['member_pk']}/",
        VIEW,
        kind="screen",
        setup=_member,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing members list",
        "GET",
        lambda c: f"/api/billing/members?q={c['member']}",
        VIEW,
        setup=_member,
        success=OK,
        marker=_member_json,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing member detail",
        "GET",
        lambda c: f"/api/billing/members/{c['member_pk']}",
        VIEW,
        setup=_member,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    # payers
    Endpoint(
        "screen billing payers",
        "GET",
        lambda c: "/billing/payers/",
        VIEW,
        kind="screen",
        setup=_payer,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing payer create",
        "POST",
        lambda c: "/billing/payers/",
        RULES,
        kind="screen",
        setup=_new_code,
        data=lambda c: {"code": c["code"], "name": "Matrix", "timely_filing_days": "365"},
        success=REDIRECT,
    ),
    Endpoint(
        "screen billing payer edit",
        "GET",
        lambda c: f"/billing/payers/{c['payer_pk']}/",
        RULES,
        kind="screen",
        setup=_payer_pk,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing payer edit save",
        "POST",
        lambda c: f"/billing/payers/{c['payer_pk']}/",
        RULES,
        kind="screen",
        setup=_payer_pk,
        data=lambda c: {"name": "Renamed", "active": "1", "timely_filing_days": "90"},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "api billing payers list",
        "GET",
        lambda c: "/api/billing/payers",
        VIEW,
        setup=_payer,
        success=OK,
        marker=_json_code,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing payer create",
        "POST",
        lambda c: "/api/billing/payers",
        RULES,
        setup=_new_code,
        data=lambda c: {"code": c["code"], "name": "Matrix"},
        success=CREATED,
    ),
    Endpoint(
        "api billing payer detail",
        "GET",
        lambda c: f"/api/billing/payers/{c['payer_pk']}",
        VIEW,
        setup=_payer_pk,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api billing payer update",
        "PATCH",
        lambda c: f"/api/billing/payers/{c['payer_pk']}",
        RULES,
        setup=_payer_pk,
        data=lambda c: {"timely_filing_days": 90},
        success=OK,
        object_of_tenant=True,
    ),
    # rule editing
    Endpoint(
        "screen billing rule new",
        "GET",
        lambda c: "/billing/rules/new/",
        RULES,
        kind="screen",
        setup=_payer,
        success=PAGE,
        marker=_payer_code,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing rule new save",
        "POST",
        lambda c: "/billing/rules/new/",
        RULES,
        kind="screen",
        setup=_payer,
        data=_rule_form,
        success=REDIRECT,
    ),
    Endpoint(
        "screen billing rule copy active",
        "POST",
        lambda c: "/billing/rules/copy/",
        RULES,
        kind="screen",
        setup=_payer_with_rules,
        data=lambda c: {"payer": c["payer"]},
        success=REDIRECT,
        object_of_tenant=True,
    ),
    Endpoint(
        "screen billing rule edit",
        "GET",
        lambda c: f"/billing/rules/{c['rule_version']}/edit/",
        RULES,
        kind="screen",
        setup=_draft,
        success=PAGE,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "screen billing rule edit save",
        "POST",
        lambda c: f"/billing/rules/{c['rule_version']}/edit/",
        RULES,
        kind="screen",
        setup=_draft,
        data=_rule_form,
        success=REDIRECT,
        object_of_tenant=True,
    ),
)
