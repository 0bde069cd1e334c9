"""Who read what (issue 11, build item 3): every read or export of member data, on the screens
and through the API, writes exactly one audit entry naming the actor and the object, with a
payload that holds ids and counts but no member id, name or birth date; refused reads write none.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from billing.models import BillingRun, Member
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry, TenantMembership
from core.services import api_token_create, object_access_grant
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb

R = S.Role
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def scene(world) -> sb.Scenario:
    return sb.scenario(world.tenant, package=False)


def _screen(world, role: str = R.VIEWER) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _phi(tenant):
    return AuditEntry.objects.filter(tenant=tenant, action__startswith="phi.").order_by("seq")


def _drain(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _phi_texts(tenant) -> list[str]:
    """Every member id, name and birth date of the tenant, as they would appear in text."""
    texts = []
    for m in Member.objects.filter(tenant=tenant):
        texts += [m.external_id, m.first_name, m.last_name, m.birth_date.isoformat()]
    return texts


def _one_entry(world, client, url: str, *, status: int = 200, **extra) -> AuditEntry:
    """GET url; exactly one PHI entry was appended; its payload holds no member data."""
    before = list(_phi(world.tenant).values_list("pk", flat=True))
    response = client.get(url, **extra)
    assert response.status_code == status, _drain(response)[:300]
    _drain(response)
    new = list(_phi(world.tenant).exclude(pk__in=before))
    assert len(new) == 1, [(e.action, e.object_type) for e in new]
    entry = new[0]
    text = json.dumps(entry.payload) + entry.object_id + entry.reason
    leaked = [t for t in _phi_texts(world.tenant) if t in text]
    assert not leaked, f"PHI in the audit entry: {leaked}"
    return entry


# --- screens -------------------------------------------------------------------------------


def test_member_page_is_recorded_as_a_phi_view_of_the_member(world, scene):
    c = _screen(world, R.VIEWER)
    e = _one_entry(world, c, f"/billing/members/{scene.active.pk}/")
    assert e.action == "phi.view"
    assert (e.object_type, e.object_id) == ("billing.Member", str(scene.active.pk))
    assert e.actor == world.users[R.VIEWER] and e.actor_label == "alpha-viewer"
    assert e.payload == {"payers": 1, "decisions": 1}
    assert verify_chain(world.tenant).ok


def test_decision_page_and_its_htmx_fragment_are_each_recorded(world, scene):
    c = _screen(world, R.VIEWER)
    d = scene.decision(scene.active)
    full = _one_entry(world, c, f"/billing/decisions/{d.pk}/")
    fragment = _one_entry(world, c, f"/billing/decisions/{d.pk}/", **HX)
    for e in (full, fragment):
        assert e.action == "phi.view"
        assert (e.object_type, e.object_id) == ("billing.Decision", str(d.pk))
        assert e.actor == world.users[R.VIEWER]
        assert e.payload["run"] == scene.run.pk
        assert e.payload["assertions"] == len(d.inputs["assertions"]) > 0


def test_member_search_records_the_shape_never_the_text(world, scene):
    c = _screen(world, R.VIEWER)
    q = scene.active.external_id
    e = _one_entry(world, c, f"/billing/members/?q={q}")
    assert e.action == "phi.search" and e.object_type == "billing.Member"
    assert e.payload == {"results": 1, "shown": 1, "page": 1}
    assert q not in json.dumps(e.payload)

    # a name search: the words are not kept either
    e = _one_entry(world, c, "/billing/members/?q=ada+lovelace")
    assert e.payload["results"] == Member.objects.filter(tenant=world.tenant).count()
    assert "ada" not in json.dumps(e.payload).lower()


def test_the_members_screen_without_a_search_records_nothing(world, scene):
    r = _screen(world).get("/billing/members/")
    assert r.status_code == 200
    assert not _phi(world.tenant).exists()


def test_members_csv_is_recorded_as_one_export(world, scene):
    e = _one_entry(world, _screen(world), "/billing/members.csv?q=ada")
    assert (e.action, e.object_type, e.payload) == (
        "phi.export",
        "billing.Member",
        {"export": "members"},
    )


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("roster.csv", "roster"),
        ("decisions.csv", "decisions"),
        ("decisions-list.csv", "decisions list"),
        ("exceptions.csv", "exceptions"),
    ],
)
def test_run_csv_downloads_on_the_screen_are_one_export_each(world, scene, path, kind):
    e = _one_entry(world, _screen(world, R.VIEWER), f"/billing/runs/{scene.run.pk}/{path}")
    assert e.action == "phi.export" and e.payload["export"] == kind
    assert (e.object_type, e.object_id) == ("billing.BillingRun", str(scene.run.pk))
    assert e.actor == world.users[R.VIEWER]
    assert not AuditEntry.objects.filter(action="EXPORT_DOWNLOADED").exists()


def test_decisions_list_export_records_that_a_member_filter_was_used_not_its_value(world, scene):
    url = f"/billing/runs/{scene.run.pk}/decisions-list.csv?member={scene.active.external_id}"
    e = _one_entry(world, _screen(world), url)
    assert e.payload["member_filter"] is True
    assert "member" not in e.payload["filters"]


def test_overrides_csv_is_recorded_as_one_export(world, scene):
    e = _one_entry(world, _screen(world), "/billing/overrides.csv")
    assert (e.action, e.object_type) == ("phi.export", "billing.MemberMonthOverride")


def test_audit_package_download_is_recorded_as_one_export(world):
    run = sb.done_run(world.tenant, [b.billed_payer(world.tenant)], package=True)
    e = _one_entry(world, _screen(world, R.VIEWER), f"/billing/runs/{run.pk}/package/")
    assert e.action == "phi.export" and e.payload["export"] == "audit_package"
    assert (e.object_type, e.object_id) == ("billing.BillingRun", str(run.pk))
    assert verify_chain(world.tenant).ok


# --- API -----------------------------------------------------------------------------------


def test_member_detail_api_is_recorded_as_a_phi_view(world, scene):
    e = _one_entry(world, world.client(R.VIEWER), f"/api/billing/members/{scene.active.pk}")
    assert e.action == "phi.view"
    assert (e.object_type, e.object_id) == ("billing.Member", str(scene.active.pk))
    assert e.actor_label == "alpha-viewer"


def test_member_search_api_records_how_many_rows_it_returned(world, scene):
    e = _one_entry(world, world.client(R.VIEWER), "/api/billing/members?q=ada")
    n = Member.objects.filter(tenant=world.tenant).count()
    assert (e.action, e.payload) == ("phi.search", {"shown": n, "filtered": True})


def test_decision_detail_api_is_recorded_as_a_phi_view(world, scene):
    d = scene.decision(scene.terminated)
    e = _one_entry(world, world.client(R.VIEWER), f"/api/billing/decisions/{d.pk}")
    assert (e.action, e.object_type, e.object_id) == ("phi.view", "billing.Decision", str(d.pk))


@pytest.mark.parametrize("kind", ["roster", "decisions"])
def test_run_csv_downloads_through_the_api_are_one_export_each(world, scene, kind):
    e = _one_entry(world, world.client(R.VIEWER), f"/api/billing/runs/{scene.run.pk}/{kind}.csv")
    assert (e.action, e.object_id, e.payload) == ("phi.export", str(scene.run.pk), {"export": kind})


def test_simulation_results_csv_is_recorded_as_one_export(world):
    sim = sb.done_run(world.tenant, [b.billed_payer(world.tenant)], mode=BillingRun.Mode.SIMULATION)
    e = _one_entry(world, world.client(R.VIEWER), f"/api/billing/runs/{sim.pk}/decisions.csv")
    assert (e.action, e.object_id) == ("phi.export", str(sim.pk))


def test_a_token_read_names_the_token_in_the_entry(world, scene):
    _, raw = api_token_create(
        actor=world.actor(R.VIEWER), name="partner", scopes=[S.BILLING_RUN_VIEW]
    )
    c = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    e = _one_entry(world, c, f"/api/billing/members/{scene.active.pk}")
    assert e.actor == world.users[R.VIEWER]
    assert e.actor_label.startswith("alpha-viewer via token ")


# --- refused reads write nothing -----------------------------------------------------------


def test_refused_reads_write_no_phi_entry(world, scene):
    d = scene.decision(scene.active)
    outsider = world.client("outsider")
    _, raw = api_token_create(actor=world.actor(R.VIEWER), name="narrow", scopes=[S.INGESTION_READ])
    scopeless = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = [
        (outsider, f"/billing/members/{scene.active.pk}/", 404),
        (outsider, f"/billing/decisions/{d.pk}/", 404),
        (outsider, f"/api/billing/members/{scene.active.pk}", 404),
        (outsider, f"/api/billing/decisions/{d.pk}", 404),
        (outsider, f"/api/billing/runs/{scene.run.pk}/roster.csv", 404),
        (outsider, f"/billing/runs/{scene.run.pk}/decisions.csv", 404),
        (world.client(R.VIEWER), "/billing/members/999999/", 404),
        (world.client(R.VIEWER), "/api/billing/decisions/999999", 404),
        (scopeless, f"/api/billing/members/{scene.active.pk}", 403),
        (scopeless, "/api/billing/members?q=ada", 403),
        (scopeless, f"/api/billing/runs/{scene.run.pk}/decisions.csv", 403),
        (Client(), f"/api/billing/members/{scene.active.pk}", 401),
    ]
    for client, url, status in refused:
        assert client.get(url).status_code == status, url
    assert not _phi(world.tenant).exists()
    assert not _phi(world.other_tenant).exists()


def test_a_member_outside_the_readers_payer_grant_is_refused_and_not_recorded(world, scene):
    membership = TenantMembership.objects.get(tenant=world.tenant, user=world.users[R.VIEWER])
    object_access_grant(actor=world.actor(R.OWNER), membership_id=membership.pk, obj=scene.other)
    c = _screen(world, R.VIEWER)
    assert c.get(f"/billing/members/{scene.active.pk}/").status_code == 404
    assert not _phi(world.tenant).exists()
    e = _one_entry(world, c, f"/billing/members/{scene.other_member.pk}/")
    assert e.object_id == str(scene.other_member.pk)


def test_a_refused_simulation_roster_writes_no_entry(world):
    sim = sb.done_run(world.tenant, [b.billed_payer(world.tenant)], mode=BillingRun.Mode.SIMULATION)
    assert world.client(R.VIEWER).get(f"/api/billing/runs/{sim.pk}/roster.csv").status_code == 409
    assert _screen(world).get(f"/billing/runs/{sim.pk}/roster.csv").status_code == 409
    assert not _phi(world.tenant).exists()


# --- listings that show member ids: one view entry for the page, none per row -----------------


@pytest.mark.parametrize(
    "url",
    [
        "/billing/runs/{run}/?tab=decisions",
        "/billing/runs/{run}/?tab=exceptions",
        "/api/billing/runs/{run}/decisions",
        "/api/billing/runs/{run}/exceptions",
    ],
)
def test_a_runs_decision_or_exception_listing_is_one_phi_view_of_the_run(world, scene, url):
    client = world.client(R.VIEWER) if url.startswith("/api/") else _screen(world, R.VIEWER)
    e = _one_entry(world, client, url.format(run=scene.run.pk))
    assert (e.action, e.object_type, e.object_id) == (
        "phi.view",
        "billing.BillingRun",
        str(scene.run.pk),
    )
    if "decisions" in url:
        assert e.payload == {"listing": "decisions", "filtered": False}
    else:  # the screen opens on open exceptions; status and code are not PHI
        assert e.payload["listing"] == "exceptions" and e.payload["code"] == ""


def test_a_filtered_decision_listing_says_a_filter_was_used_never_its_value(world, scene):
    member = scene.active.external_id
    url = f"/api/billing/runs/{scene.run.pk}/decisions?member={member}"
    e = _one_entry(world, world.client(R.VIEWER), url)
    assert e.payload == {"listing": "decisions", "filtered": True}
