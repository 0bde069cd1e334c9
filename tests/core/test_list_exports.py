"""The audit trail and the approvals queue: filters live in the URL; Export CSV gives what the
list shows."""

from __future__ import annotations

import csv
import io

import pytest

from core import scopes as S
from core.models import AuditEntry, OverrideRequest
from core.overrides import override_perform, override_request_reject
from core.services import tenant_policy_update
from core.views_lists import AUDIT_COLUMNS, OVERRIDE_COLUMNS
from tests.core.overrides_fixture import ACTION


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_export_carries_the_filters_of_the_screen(world):
    client = world.client(S.Role.OWNER)
    # given the audit screen filtered on an action and an actor
    page = client.get("/audit/", {"action": "MEMBERSHIP_ADDED", "actor": "sys"})
    html = page.content.decode()
    # then the Export CSV link carries the same filters
    assert 'href="/audit/export.csv?action=MEMBERSHIP_ADDED&amp;actor=sys"' in html
    # and the export lists exactly the rows the screen lists
    rows = _csv(client.get("/audit/export.csv", {"action": "MEMBERSHIP_ADDED", "actor": "sys"}))
    assert rows[0] == AUDIT_COLUMNS
    shown = AuditEntry.objects.filter(tenant=world.tenant, action="MEMBERSHIP_ADDED")
    assert [int(r[0]) for r in rows[1:]] == sorted(shown.values_list("seq", flat=True))[::-1]
    assert {r[3] for r in rows[1:]} == {"MEMBERSHIP_ADDED"}
    assert all(r[8] and len(r[8]) == 64 for r in rows[1:])  # the hashes, for checking
    assert f"{len(S.Role)} entries" in html


def test_audit_export_is_itself_audited_and_not_included(world):
    client = world.client(S.Role.OWNER)
    before = AuditEntry.objects.filter(tenant=world.tenant).count()
    rows = _csv(client.get("/audit/export.csv"))
    assert len(rows) - 1 == before
    entry = AuditEntry.objects.filter(tenant=world.tenant).order_by("-seq").first()
    assert entry.action == "EXPORT_DOWNLOADED"
    assert entry.payload == {"export": "audit", "filters": {}}
    assert entry.actor_label == "alpha-owner"


def test_audit_export_never_holds_another_tenants_entries(world):
    rows = _csv(world.client("outsider").get("/audit/export.csv"))
    assert all("alpha" not in ",".join(r) for r in rows[1:])


def test_audit_filters_name_a_bad_date(world):
    client = world.client(S.Role.OWNER)
    response = client.get("/audit/", {"since": "2026-13-45", "actor": "kept"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "since: expected a date as YYYY-MM-DD, got &#x27;2026-13-45&#x27;" in html
    assert 'value="kept"' in html
    export = client.get("/audit/export.csv", {"since": "soon"})
    assert export.status_code == 400
    assert b"since: expected a date" in export.content


@pytest.fixture
def decided_and_pending(world):
    owner = world.actor(S.Role.OWNER)
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_OVERRIDE_CREATE])
    made = [
        override_perform(actor=owner, action=ACTION, payload={"member": f"M-{n}"}, reason="why")
        for n in (1, 2)
    ]
    override_request_reject(
        actor=world.actor(S.Role.ADMIN), request_id=made[0].request.pk, note="no basis"
    )
    return [m.request.pk for m in made]


def test_override_queue_filters_in_the_url_and_export(world, decided_and_pending):
    rejected, pending = decided_and_pending
    client = world.client(S.Role.ADMIN)
    page = client.get("/approvals/overrides/", {"status": "REJECTED"}).content.decode()
    assert "Decided: rejected (latest 50)" in page
    assert "Waiting (0)" in page
    assert 'href="/approvals/overrides/export.csv?status=REJECTED"' in page
    rows = _csv(client.get("/approvals/overrides/export.csv", {"status": "REJECTED"}))
    assert rows[0] == OVERRIDE_COLUMNS
    assert [(int(r[0]), r[5], r[6], r[9], r[11]) for r in rows[1:]] == [
        (rejected, "REJECTED", "alpha-owner", "alpha-admin", "no basis")
    ]
    everything = _csv(client.get("/approvals/overrides/export.csv"))
    assert sorted(int(r[0]) for r in everything[1:]) == sorted([rejected, pending])
    waiting = _csv(client.get("/approvals/overrides/export.csv", {"status": "PENDING"}))
    assert [int(r[0]) for r in waiting[1:]] == [pending]
    assert OverrideRequest.objects.count() == 2


def test_override_export_shows_only_what_the_member_may_see(world, decided_and_pending):
    # a VIEWER holds no override scope and made no request: an empty export
    rows = _csv(world.client(S.Role.VIEWER).get("/approvals/overrides/export.csv"))
    assert rows == [OVERRIDE_COLUMNS]


def test_override_export_never_holds_another_tenants_requests(world, decided_and_pending):
    rows = _csv(world.client("outsider").get("/approvals/overrides/export.csv"))
    assert rows == [OVERRIDE_COLUMNS]
