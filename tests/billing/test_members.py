"""The member page (issue 10, capability 1): search by member id or name, the per-payer
eligibility timeline with the assertion that won each decided month, decisions across runs
(authoritative, simulation, superseded), overrides and service events; the same through the API;
payer grants narrow all of it; the search result exports as CSV."""

from __future__ import annotations

import csv
import html
import io
import logging
import re

import pytest
from django.test import Client

from billing.models import Decision, EligibilityAssertion
from billing.services.overrides import member_month_override_request
from billing.services.runs import billing_run_regenerate
from core import scopes as S
from core.models import TenantMembership
from core.services import object_access_grant
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb

R = S.Role


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def scene(world) -> sb.Scenario:
    return sb.scenario(world.tenant, package=False)


def _client(world, role: str = R.VIEWER) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _narrow(world, role: str, payer) -> None:
    membership = TenantMembership.objects.get(tenant=world.tenant, user=world.users[role])
    object_access_grant(actor=world.actor(R.OWNER), membership_id=membership.pk, obj=payer)


def _row(page: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}"[^>]*>.*?</tr>', page, re.S)
    assert match, f"no row {row_id}"
    return match.group(0)


# --- search -------------------------------------------------------------------------------


def test_member_search_finds_by_id_start_and_by_name(world, scene):
    c = _client(world)
    page = _text(c.get("/billing/members/", {"q": scene.active.external_id}))
    assert f'href="/billing/members/{scene.active.pk}/"' in page
    assert f'href="/billing/members/{scene.active_too.pk}/"' not in page

    scene.active.last_name = "Hopper"
    scene.active.save()
    page = _text(c.get("/billing/members/", {"q": "ada hopp"}))
    assert f'href="/billing/members/{scene.active.pk}/"' in page
    assert f'href="/billing/members/{scene.active_too.pk}/"' not in page

    page = _text(c.get("/billing/members/", {"q": "nobody-like-this"}))
    assert "No member matches “nobody-like-this”." in page


def test_members_is_in_the_billing_navigation(world, scene):
    page = _text(_client(world).get("/billing/"))
    assert '<a href="/billing/members/"' in page


def test_member_search_exports_the_result_list_as_csv(world, scene):
    c = _client(world)
    page = _text(c.get("/billing/members/", {"q": "SCA"}))
    assert 'href="/billing/members.csv?q=SCA"' in page
    response = c.get("/billing/members.csv", {"q": scene.active.external_id})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["id", "member_id", "first_name", "last_name", "birth_date"],
        [str(scene.active.pk), scene.active.external_id, "Ada", "Lovelace", "1980-03-15"],
    ]


# --- the member page ----------------------------------------------------------------------


def test_member_page_marks_the_assertion_that_won_each_month(world, scene):
    page = _text(_client(world).get(f"/billing/members/{scene.active.pk}/"))
    assert f'id="payer-{scene.payer.code}"' in page
    full_file = EligibilityAssertion.objects.get(member=scene.active, source_kind="FULL_FILE")

    winner_row = _row(page, f"assertion-{scene.winner.pk}")
    assert 'class="winner"' in winner_row
    assert "★ 2026-10" in winner_row
    assert "Amended file" in winner_row
    loser_row = _row(page, f"assertion-{full_file.pk}")
    assert "winner" not in loser_row
    assert "★" not in loser_row
    # the winner is the one the run's decision recorded
    assert scene.decision(scene.active).inputs["winner"] == scene.winner.pk


def test_member_page_lists_decisions_across_runs_with_their_standing(world, scene):
    simulation = sb.done_run(world.tenant, [scene.payer], mode=sb.SIMULATION, package=False)
    regenerated = billing_run_regenerate(
        actor=b.system(world.tenant), run_id=scene.run.pk, reason="corrected eligibility"
    )
    regenerated = sb.finish(regenerated, package=False)
    page = _text(_client(world).get(f"/billing/members/{scene.active.pk}/"))

    old = Decision.objects.get(run=scene.run, member=scene.active)
    sim = Decision.objects.get(run=simulation, member=scene.active)
    new = Decision.objects.get(run=regenerated, member=scene.active)
    row = _row(page, f"member-decision-{old.pk}")
    assert "Superseded" in row and f'href="/billing/runs/{scene.run.pk}/"' in row
    assert "$412.50" in row
    row = _row(page, f"member-decision-{sim.pk}")
    assert "Simulation" in row and f'href="/billing/runs/{simulation.pk}/"' in row
    row = _row(page, f"member-decision-{new.pk}")
    assert "Authoritative" in row and "●" in row  # the decision that counts for 2026-10
    assert f'href="/billing/decisions/{new.pk}/"' in row


def test_member_page_shows_overrides_and_service_events(world, scene):
    member_month_override_request(
        actor=world.actor(R.OWNER),
        payer_code=scene.payer.code,
        member_external_id=scene.active.external_id,
        month=b.MONTH,
        outcome="NOT_BILLABLE",
        reason="moved abroad in September",
    )
    page = _text(_client(world).get(f"/billing/members/{scene.active.pk}/"))
    assert "moved abroad in September" in page
    assert "Not billable" in page
    assert "99213" in page and "2026-10-10" in page


def test_member_page_of_an_unknown_or_other_tenants_member_is_404(world, scene):
    assert _client(world).get("/billing/members/999999/").status_code == 404
    outsider = Client()
    outsider.force_login(world.outsider)
    assert outsider.get(f"/billing/members/{scene.active.pk}/").status_code == 404


def test_every_decision_links_to_its_member_page(world, scene):
    c = _client(world)
    d = scene.decision(scene.active)
    member_href = f'href="/billing/members/{scene.active.pk}/"'
    assert member_href in _text(c.get(f"/billing/decisions/{d.pk}/"))
    tab = _text(c.get(f"/billing/runs/{scene.run.pk}/", {"tab": "decisions"}))
    assert member_href in _row(tab, f"decision-{d.pk}")
    tab = _text(c.get(f"/billing/runs/{scene.run.pk}/", {"tab": "exceptions"}))
    assert f'href="/billing/members/{scene.broken.pk}/"' in _row(
        tab, f"exception-{scene.exception.pk}"
    )


def test_member_page_and_search_log_no_member_id_or_name(world, scene, caplog):
    caplog.set_level(logging.DEBUG)
    c = _client(world)
    c.get("/billing/members/", {"q": scene.active.external_id})
    c.get(f"/billing/members/{scene.active.pk}/")
    c.get(f"/api/billing/members?q={scene.active.external_id}")
    assert scene.active.external_id not in caplog.text
    assert "Lovelace" not in caplog.text


# --- payer grants -------------------------------------------------------------------------


def test_a_member_narrowed_to_a_payer_finds_only_that_payers_members_and_facts(world, scene):
    # the shared member has assertions for both payers
    b.member(world.tenant, scene.other, scene.active.external_id)
    _narrow(world, R.VIEWER, scene.other)
    c = _client(world, R.VIEWER)

    page = _text(c.get("/billing/members/", {"q": "SC"}))
    assert f'href="/billing/members/{scene.active.pk}/"' in page
    assert f'href="/billing/members/{scene.other_member.pk}/"' in page
    assert f'href="/billing/members/{scene.active_too.pk}/"' not in page  # payer's only
    assert c.get(f"/billing/members/{scene.active_too.pk}/").status_code == 404

    page = _text(c.get(f"/billing/members/{scene.active.pk}/"))
    assert f'id="payer-{scene.other.code}"' in page
    assert f'id="payer-{scene.payer.code}"' not in page
    assert f"assertion-{scene.winner.pk}" not in page

    api = world.client(R.VIEWER)
    ids = [m["id"] for m in api.get("/api/billing/members?q=SC").json()["results"]]
    assert scene.active_too.pk not in ids and scene.active.pk in ids
    assert api.get(f"/api/billing/members/{scene.active_too.pk}").status_code == 404
    body = api.get(f"/api/billing/members/{scene.active.pk}").json()
    assert [p["payer"] for p in body["payers"]] == [scene.other.code]


# --- API ----------------------------------------------------------------------------------


def test_api_member_search_pages_with_a_cursor(world, scene):
    api = world.client(R.VIEWER)
    first = api.get("/api/billing/members?q=SC&page_size=2").json()
    assert len(first["results"]) == 2
    assert first["next"] and "cursor=" in first["next"]
    second = api.get(first["next"]).json()
    seen = [m["id"] for m in first["results"] + second["results"]]
    assert len(seen) == len(set(seen))
    assert set(first["results"][0]) == {"id", "member_id", "first_name", "last_name", "birth_date"}


def test_api_member_detail_gives_the_timeline_and_decisions(world, scene):
    body = world.client(R.VIEWER).get(f"/api/billing/members/{scene.active.pk}").json()
    assert body["member_id"] == scene.active.external_id
    (payer,) = body["payers"]
    assert payer["payer"] == scene.payer.code
    won = {a["id"]: a["won_months"] for a in payer["assertions"]}
    assert won[scene.winner.pk] == ["2026-10"]
    assert sorted(won.values()) == [[], ["2026-10"]]
    (decision,) = payer["decisions"]
    assert decision["standing"] == "AUTHORITATIVE" and decision["counts"] is True
    assert (decision["amount"], decision["winner"]) == ("412.50", scene.winner.pk)
    assert payer["services"][0]["service_code"] == "99213"


def test_members_csv_of_another_tenant_holds_none_of_this_tenants_members(world, scene):
    outsider = Client()
    outsider.force_login(world.outsider)
    response = outsider.get("/billing/members.csv", {"q": scene.active.external_id})
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == ["id,member_id,first_name,last_name,birth_date"]
