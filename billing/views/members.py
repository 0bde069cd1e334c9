"""Billing screens: member search and a member's page (assertions timeline per payer, decisions
across months and runs, overrides, service events). Member ids and names never go to logs."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing import member_selectors
from billing.views.common import not_found
from core import scopes as S
from core.exceptions import NotFound
from core.listexport import csv_response
from core.views import tenant_view

MEMBER_CSV_HEADER = ["id", "member_id", "first_name", "last_name", "birth_date"]


@tenant_view(S.BILLING_RUN_VIEW)
def member_list(request: HttpRequest) -> HttpResponse:
    """Search members by id or name; only those the actor's payer grants reach."""
    q = request.GET.get("q", "").strip()
    members = member_selectors.member_search(request.actor, q) if q else None
    page = Paginator(members, 50).get_page(request.GET.get("page")) if q else None
    return render(
        request,
        "billing/members.html",
        {"q": q, "page": page, "query": request.GET.urlencode() if q else ""},
    )


@tenant_view(S.BILLING_RUN_VIEW)
def member_export(request: HttpRequest) -> HttpResponse:
    """The search result list as CSV (the same query as the screen)."""
    q = request.GET.get("q", "").strip()
    members = member_selectors.member_search(request.actor, q).values_list(
        "pk", "external_id", "first_name", "last_name", "birth_date"
    )
    return csv_response("members.csv", MEMBER_CSV_HEADER, members.iterator())


@tenant_view(S.BILLING_RUN_VIEW)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One member: per payer the assertions timeline with each month's winner, the decisions
    across months and runs, overrides and service events."""
    try:
        member = member_selectors.member_get(request.actor, pk)
    except NotFound:
        return not_found(request, f"Member {pk}")
    histories = member_selectors.member_history(request.actor, member)
    return render(
        request,
        "billing/member.html",
        {
            "member": member,
            "histories": histories,
            "decision_limit": member_selectors.DECISION_LIMIT,
        },
    )
