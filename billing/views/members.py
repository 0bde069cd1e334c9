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
from core.phi_reads import PHI_EXPORT, PHI_SEARCH, record_phi_access
from core.views import tenant_view

MEMBER_CSV_HEADER = ["id", "member_id", "first_name", "last_name", "birth_date"]


@tenant_view(S.BILLING_RUN_VIEW)
def member_list(request: HttpRequest) -> HttpResponse:
    """Search members by id or name; only those the actor's payer grants reach."""
    q = request.GET.get("q", "").strip()
    members = member_selectors.member_search(request.actor, q) if q else None
    page = Paginator(members, 50).get_page(request.GET.get("page")) if q else None
    if page is not None:  # the search shape only: never the text searched for
        record_phi_access(
            request.actor,
            PHI_SEARCH,
            object_type="billing.Member",
            results=page.paginator.count,
            shown=len(page.object_list),
            page=page.number,
        )
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
    record_phi_access(request.actor, PHI_EXPORT, object_type="billing.Member", export="members")
    return csv_response("members.csv", MEMBER_CSV_HEADER, members.iterator())


@tenant_view(S.BILLING_RUN_VIEW)
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One member: per payer the assertions timeline with each month's winner, the decisions
    across months and runs, overrides and service events."""
    try:
        member, histories = member_selectors.member_read(request.actor, pk)
    except NotFound:
        return not_found(request, f"Member {pk}")
    return render(
        request,
        "billing/member.html",
        {
            "member": member,
            "histories": histories,
            "decision_limit": member_selectors.DECISION_LIMIT,
        },
    )
