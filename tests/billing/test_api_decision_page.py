"""The API's decisions page (issue 16): same body as DecisionSerializer, a fixed number of queries
whatever the page holds, and the audited read of member ids still written on every request."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.api.serializers import DecisionSerializer
from billing.models import Decision
from core import scopes as S
from core.models import AuditEntry, TenantMembership
from core.phi_reads import PHI_VIEW
from core.services import object_access_grant
from tests.billing.test_api import RUNS, two_payer_run  # noqa: F401  (fixture)

# session, user, memberships, scopes and grants (one query), visible payer ids, the run, the
# audited read (savepoint, chain head, entry, head, release), the page's rows, the session's new
# expiry (savepoint, update, release): none of them per row
PAGE_QUERIES = 15


def _get(client, url: str, tenant):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_X_TENANT=tenant.slug)
    assert response.status_code == 200, response.content
    return response.json(), len(queries.captured_queries)


def test_decisions_page_body_is_the_decision_serializers(world, two_payer_run):  # noqa: F811
    run = two_payer_run[0]
    client = world.client(S.Role.BILLING_MANAGER)

    # when the run's decisions are listed
    body, _ = _get(client, f"{RUNS}/{run.pk}/decisions", world.tenant)

    # then every row reads as DecisionSerializer reads the decision's model instance
    decisions = Decision.objects.filter(run=run).order_by("id")
    assert body["results"] == DecisionSerializer(decisions, many=True).data
    assert body["next"] is None and body["previous"] is None
    first = body["results"][0]
    assert first["payer"] == "P1" and first["member"] == "M-1" and first["month"] == "2026-10"
    assert first["amount"] == "412.50" and first["billable"] is True and first["run"] == run.pk
    assert [r["member"] for r in body["results"]] == ["M-1", "M-2", "M-3", "M-PENDING", "M-P2"]


def test_decisions_page_queries_do_not_grow_with_its_rows(world, two_payer_run):  # noqa: F811
    run = two_payer_run[0]
    client = world.client(S.Role.BILLING_MANAGER)
    url = f"{RUNS}/{run.pk}/decisions"
    _get(client, url, world.tenant)  # warm the content type cache
    reads = AuditEntry.objects.filter(tenant=world.tenant, action=PHI_VIEW).count()

    # when a page of 1 row and a page of 5 rows are read
    one, one_queries = _get(client, f"{url}?page_size=1", world.tenant)
    five, five_queries = _get(client, url, world.tenant)

    # then both cost the same fixed number of queries
    assert len(one["results"]) == 1 and len(five["results"]) == 5
    assert one_queries == five_queries == PAGE_QUERIES
    # and each request wrote its audited read of the page's member ids
    assert AuditEntry.objects.filter(tenant=world.tenant, action=PHI_VIEW).count() == reads + 2


def test_decisions_page_of_a_member_narrowed_by_payer_grant(world, two_payer_run):  # noqa: F811
    run, p1, *_ = two_payer_run
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=p1)
    client = world.client(S.Role.OPERATIONS)

    # when a member limited to P1 lists the two-payer run's decisions (X-Tenant session)
    body, _ = _get(client, f"{RUNS}/{run.pk}/decisions", world.tenant)

    # then only P1's decisions are listed
    assert [r["member"] for r in body["results"]] == ["M-1", "M-2", "M-3", "M-PENDING"]
    # and a tenant the user does not belong to answers 403
    response = client.get(f"{RUNS}/{run.pk}/decisions", HTTP_X_TENANT="no-such-tenant")
    assert response.status_code == 403
