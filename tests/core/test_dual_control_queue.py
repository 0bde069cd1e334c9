"""The approvals queue by age and the escalation on the dashboard (issue 14 item 5, seed 002:
"Override approvals stuck: supervisor's queue is unattended. Escalate")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import approvals
from core import scopes as S
from core.models import OverrideRequest
from core.overrides import override_perform
from core.services import tenant_policy_update
from tests.core.overrides_fixture import ACTION

QUEUE = "/approvals/overrides/"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _file(world, role: str, member: str, hours_ago: float) -> OverrideRequest:
    request = override_perform(
        actor=world.actor(role), action=ACTION, payload={"member": member}, reason="r"
    ).request
    OverrideRequest.objects.filter(pk=request.pk).update(
        requested_at=timezone.now() - timedelta(hours=hours_ago)
    )
    return request


@pytest.fixture
def aged(world):
    """Four requests of the billing manager, 1 h, 10 h, 30 h and 50 h old, and one of the admin
    30 h old."""
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    manager = S.Role.BILLING_MANAGER
    return {
        "fresh": _file(world, manager, "M-FRESH", 1),
        "day": _file(world, manager, "M-DAY", 10),
        "stuck": _file(world, manager, "M-STUCK", 30),
        "old": _file(world, manager, "M-OLD", 50),
        "admins": _file(world, S.Role.ADMIN, "M-ADMIN", 30),
    }


def _rows(html: str) -> list[str]:
    """The members of the waiting table's rows, in order."""
    table = html.split('id="pending-requests"')[1].split("</table>")[0]
    return re.findall(r"<td>flag member-month (M-[A-Z]+)</td>", table)


def test_age_bands_and_stuck_flag():
    assert approvals.age_band(timedelta(hours=3, minutes=59)) == "0-4 h"
    assert approvals.age_band(timedelta(hours=4)) == "4-24 h"
    assert approvals.age_band(timedelta(hours=24)) == "24-48 h"
    assert approvals.age_band(timedelta(hours=71)) == "48-72 h"
    assert approvals.age_band(timedelta(hours=80)) == "72 h +"
    assert approvals.age_text(timedelta(minutes=35)) == "35 min"
    assert approvals.age_text(timedelta(hours=50, minutes=10)) == "2 d 2 h"


def test_queue_lists_waiting_requests_oldest_first_with_age_stuck_and_who_can_clear(world, aged):
    html = _client(world.users[S.Role.OWNER]).get(QUEUE).content.decode()
    # oldest first
    assert _rows(html) == ["M-OLD", "M-STUCK", "M-ADMIN", "M-DAY", "M-FRESH"]
    # stuck (over 24 h) flagged on those rows only
    for key, stuck in (("old", True), ("stuck", True), ("admins", True), ("day", False)):
        row = html.split(f'data-request="{aged[key].pk}"')[1].split("</tr>")[0]
        assert ('class="stuck"' in row.split(">")[0]) is stuck
        assert ('<span class="badge red">stuck</span>' in row) is stuck
    old_row = html.split(f'data-request="{aged["old"].pk}"')[1].split("</tr>")[0]
    assert "2 d 2 h" in old_row
    # who can clear: the scope's label, and its holders other than the requester
    assert "Create member-month overrides" in old_row
    clear = old_row.split("Create member-month overrides")[1].split("</td>")[0]
    assert clear.endswith('<span class="small muted">alpha-admin, alpha-owner</span>')
    admins_row = html.split(f'data-request="{aged["admins"].pk}"')[1].split("</tr>")[0]
    assert "alpha-billing_manager, alpha-owner" in admins_row
    # counts by age band
    bands = dict(re.findall(r'data-band="([^"]+)"><span class="count[^"]*">(\d+)</span>', html))
    assert bands == {"0-4 h": "1", "4-24 h": "1", "24-48 h": "2", "48-72 h": "1"}


def test_queue_shows_only_stuck_ones_and_newest_first_on_request(world, aged):
    client = _client(world.users[S.Role.OWNER])
    html = client.get(QUEUE + "?stuck=1&sort=age").content.decode()
    assert _rows(html) == ["M-OLD", "M-STUCK", "M-ADMIN"]
    html = client.get(QUEUE + "?sort=newest").content.decode()
    assert _rows(html) == ["M-FRESH", "M-DAY", "M-ADMIN", "M-STUCK", "M-OLD"]


def test_dashboard_counts_stuck_requests_a_person_can_clear_in_red(world, aged):
    # the owner can clear all three stuck ones
    html = _client(world.users[S.Role.OWNER]).get("/").content.decode()
    stuck = html.split('id="stuck-overrides"')[1].split("</p>")[0]
    assert '<span class="badge red">3</span> stuck for over 24 hours' in stuck
    assert f"{QUEUE}?stuck=1&amp;sort=age" in stuck
    # the billing manager: only the admin's (their own two stuck ones wait for someone else)
    html = _client(world.users[S.Role.BILLING_MANAGER]).get("/").content.decode()
    assert '<span class="badge red">1</span> stuck' in html
    # a viewer holds no override scope: no count at all
    html = _client(world.users[S.Role.VIEWER]).get("/").content.decode()
    assert 'id="stuck-overrides"' not in html


def test_dashboard_has_no_stuck_line_when_nothing_is_stuck(world):
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    _file(world, S.Role.BILLING_MANAGER, "M-NEW", 2)
    html = _client(world.users[S.Role.OWNER]).get("/").content.decode()
    assert "need a second person" in html or "needs a second person" in html
    assert 'id="stuck-overrides"' not in html


def test_stuck_count_ignores_decided_and_other_tenants_requests(world, aged):
    from core.overrides import override_request_reject

    override_request_reject(actor=world.actor(S.Role.OWNER), request_id=aged["old"].pk, note="no")
    assert approvals.stuck_count(world.actor(S.Role.OWNER)) == 2
    from core.actors import Actor

    assert approvals.stuck_count(Actor(tenant=world.other_tenant, user=world.outsider)) == 0
