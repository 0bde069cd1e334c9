"""Who read what (issue 11, build item 3): the PHI-access helper, its labels, and the filter on
the audit screen and the audit API that shows these entries and hides the rest."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record, verify_chain
from core.labels import label_for
from core.models import AuditEntry
from core.phi_reads import PHI_EXPORT, PHI_SEARCH, PHI_VIEW, record_phi_access

R = S.Role


def _actions_shown(html: str) -> list[str]:
    return re.findall(r'<span class="code" title="([^"]+)">', html)


@pytest.fixture
def trail(world):
    """A tenant trail mixing PHI reads with ordinary entries (memberships from the fixture)."""
    viewer = world.actor(R.VIEWER)
    record_phi_access(viewer, PHI_VIEW, object_type="billing.Member", object_id=7, payers=1)
    record_phi_access(viewer, PHI_EXPORT, world.tenant, export="roster")
    record_phi_access(viewer, PHI_SEARCH, object_type="billing.Member", results=3)
    audit_record(tenant=world.tenant, actor=viewer, action="PHI_LOOKALIKE_NOT_A_READ")
    return world


# --- the helper ----------------------------------------------------------------------------


def test_record_phi_access_names_actor_object_and_counts(world):
    actor = world.actor(R.VIEWER)
    entry = record_phi_access(
        actor, PHI_VIEW, object_type="billing.Member", object_id=42, payers=2, decisions=5
    )
    entry.refresh_from_db()
    assert entry.action == "phi.view"
    assert (entry.object_type, entry.object_id) == ("billing.Member", "42")
    assert entry.actor == world.users[R.VIEWER] and entry.actor_label == "alpha-viewer"
    assert entry.payload == {"payers": 2, "decisions": 5}
    assert verify_chain(world.tenant).ok


def test_record_phi_access_takes_the_object_type_and_id_from_an_object(world):
    entry = record_phi_access(world.actor(), PHI_EXPORT, world.tenant, export="x")
    assert (entry.object_type, entry.object_id) == ("core.Tenant", str(world.tenant.pk))


def test_a_system_actor_is_recorded_as_system(world):
    entry = record_phi_access(Actor.system_for(world.tenant), PHI_EXPORT, world.tenant, export="x")
    assert entry.actor is None and entry.actor_label == "system"


@pytest.mark.parametrize(
    "details",
    [
        {"member_id": "M000029"},
        {"q": "lovelace"},
        {"filters": {"member": "M000029"}},
        {"first_name": "Ada"},
        {"birth_date": "1960-01-01"},
        {"rows": [{"last_name": "Lovelace"}]},
        {"when": date(1960, 1, 1)},  # not a plain value: could be anything
    ],
)
def test_record_phi_access_refuses_a_payload_that_could_hold_phi(world, details):
    with pytest.raises(ValueError, match="PHI access payload"):
        record_phi_access(world.actor(), PHI_VIEW, world.tenant, **details)
    assert not AuditEntry.objects.filter(action__startswith="phi.").exists()


def test_record_phi_access_refuses_an_action_outside_the_phi_family(world):
    with pytest.raises(ValueError, match="phi.view"):
        record_phi_access(world.actor(), "EXPORT_DOWNLOADED", world.tenant)


def test_the_same_read_in_one_request_is_one_entry_a_new_request_another(world):
    request_actor = world.actor(R.VIEWER)
    for _ in range(3):
        record_phi_access(request_actor, PHI_VIEW, world.tenant, payers=1)
    assert AuditEntry.objects.filter(action="phi.view").count() == 1
    # a different read in the same request still counts
    record_phi_access(request_actor, PHI_EXPORT, world.tenant, export="roster")
    # the next request has its own actor
    record_phi_access(world.actor(R.VIEWER), PHI_VIEW, world.tenant, payers=1)
    assert AuditEntry.objects.filter(action="phi.view").count() == 2
    assert AuditEntry.objects.filter(action="phi.export").count() == 1
    assert verify_chain(world.tenant).ok


def test_phi_actions_read_as_labels():
    assert label_for("phi.view") == "PHI viewed"
    assert label_for("phi.export") == "PHI exported"
    assert label_for("phi.search") == "Members searched (PHI)"


# --- the audit screen and API filter ------------------------------------------------------


def test_audit_screen_phi_filter_shows_only_phi_access(trail):
    client = trail.client(R.OWNER)
    everything = client.get("/audit/").content.decode()
    assert "PHI_LOOKALIKE_NOT_A_READ" in _actions_shown(everything)
    assert "MEMBERSHIP_ADDED" in _actions_shown(everything)

    response = client.get("/audit/", {"phi": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert _actions_shown(html) == ["phi.search", "phi.export", "phi.view"]
    assert "(3 entries)" in html
    assert re.search(r'<input type="checkbox" name="phi" value="1" id="audit-phi"\s+checked>', html)
    # the rows read as labels, not codes
    assert ">PHI viewed<" in html and ">PHI exported<" in html


def test_audit_screen_phi_filter_combines_with_the_others(trail):
    html = trail.client(R.OWNER).get("/audit/", {"phi": "1", "action": "phi.export"}).content
    assert _actions_shown(html.decode()) == ["phi.export"]


def test_audit_export_keeps_the_phi_filter(trail):
    response = trail.client(R.OWNER).get("/audit/export.csv", {"phi": "1"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r[3] for r in rows[1:]) == ["phi.export", "phi.search", "phi.view"]


def test_audit_api_phi_filter_shows_only_phi_access(trail):
    client = trail.client(R.OWNER)
    results = client.get("/api/audit/entries", {"phi": "true"}).json()["results"]
    assert [r["action"] for r in results] == ["phi.search", "phi.export", "phi.view"]
    assert results[2]["object_type"] == "billing.Member" and results[2]["object_id"] == "7"
    everything = client.get("/api/audit/entries", {"phi": "false", "page_size": 1000}).json()
    assert len(everything["results"]) == AuditEntry.objects.filter(tenant=trail.tenant).count()


def test_audit_api_phi_filter_refuses_a_non_boolean(trail):
    response = trail.client(R.OWNER).get("/api/audit/entries", {"phi": "maybe"})
    assert response.status_code == 400
    assert "phi" in response.json()["error"]["details"]


def test_dashboard_recent_activity_leaves_out_phi_reads(trail):
    html = trail.client(R.OWNER).get("/").content.decode()
    assert "PHI viewed" not in html and "PHI exported" not in html
    assert "Phi lookalike not a read" in html
