"""The Decisions tab's rows (issue 16): each shows the decision as before, and a page costs the
same number of queries whatever number of rows it holds (no query per row)."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billing.models import Decision
from core import scopes as S
from core.middleware import SESSION_TENANT
from tests.billing.test_api import two_payer_run  # noqa: F401  (fixture)


def _client(world) -> Client:
    client = Client()
    client.force_login(world.users[S.Role.BILLING_MANAGER])
    session = client.session
    session[SESSION_TENANT] = world.tenant.pk
    session.save()
    return client


def _tab(client: Client, run, query: str = ""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/billing/runs/{run.pk}/?tab=decisions{query}")
    assert response.status_code == 200
    return response.content.decode(), len(queries.captured_queries)


def test_decision_rows_show_each_decision_with_its_links(world, two_payer_run):  # noqa: F811
    run = two_payer_run[0]
    html, _ = _tab(_client(world), run, "&payer=P2")

    # then the P2 member's decision reads as one row: id, member, payer, month, class, days,
    # tier, amount, rule version, with links to the decision, the member and its inputs
    d = Decision.objects.select_related("member", "rule_version").get(run=run, payer__code="P2")
    row = re.search(rf'<tr id="decision-{d.pk}">(.*?)</tr>', html, re.S).group(1)
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells[:9] == [
        str(d.pk),
        "M-P2",
        "P2",
        "2026-10",
        "Billed: active",
        str(d.billable_days),
        d.tier,
        "$" + f"{d.amount:,.2f}",
        f"v{d.rule_version.version}",
    ]
    assert f'href="/billing/decisions/{d.pk}/"' in row
    assert f'href="/billing/members/{d.member_id}/" class="member-link"' in row
    assert f'hx-get="/billing/decisions/{d.pk}/" hx-target="#inputs-{d.pk}"' in row
    assert f'<td colspan="10" id="inputs-{d.pk}"></td>' in html
    # and a filter that matches nothing says so
    assert "No decisions match." in _tab(_client(world), run, "&member=NOBODY")[0]


def test_decision_tab_queries_do_not_grow_with_its_rows(world, two_payer_run):  # noqa: F811
    run = two_payer_run[0]
    client = _client(world)
    _tab(client, run, "&payer=P2")  # warm the content type cache

    # when a page of 1 row (P2) and a page of 4 rows (P1) are shown
    one, one_queries = _tab(client, run, "&payer=P2")
    four, four_queries = _tab(client, run, "&payer=P1")

    # then both cost the same number of queries
    assert one.count('class="inputs-row"') == 1 and four.count('class="inputs-row"') == 4
    assert one_queries == four_queries
