"""Run comparison (issue 10, capability 3): a regeneration after corrected eligibility against the
run it supersedes, a simulation against the authoritative run of its month, the transition
matrix, the CSV, the API, the command and payer grants."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from billing import comparison, diff
from billing.models import BillingRun, Decision
from core import scopes as S
from core.exceptions import Conflict, DomainError, NotFound
from core.models import AuditEntry, TenantMembership
from core.services import object_access_grant
from tests.billing import api_builders as b
from tests.billing import compare_builders as cb
from tests.billing import screen_builders as sb

API = "/api/billing/runs"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def regen(world) -> cb.Regeneration:
    return cb.regeneration(world.tenant)


def _summary(actor, run, base) -> dict:
    pair = comparison.comparison_pair(actor, run, base.pk)
    tally, _ = comparison.comparison_scan(actor, pair)
    return comparison.comparison_summary(tally, pair)


def _key(member, payer, month=b.MONTH):
    return (payer.pk, member.pk, month)


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def _screen(world, role=S.Role.VIEWER) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


# --- the comparison against the Decision rows ---------------------------------------------------


def test_regeneration_compared_with_the_run_it_supersedes_matches_the_decision_rows(world, regen):
    # given a run and its regeneration after corrected eligibility
    owner = world.actor(S.Role.OWNER)

    # when the regeneration is compared with the run it supersedes
    result = _summary(owner, regen.second, regen.first)

    # then each run's totals and their differences are those of the Decision rows
    want = cb.expected(regen.second, regen.first)
    for name in ("members", "billable_members", "total_charge"):
        assert result[name] == want["totals"][name], name
    # and, in figures: 8 members now (one added) against 7, billable 7 against 6
    assert result["members"] == {"a": 8, "b": 7, "delta": 1}
    assert result["billable_members"] == {"a": 7, "b": 6, "delta": 1}
    # full months are 412.50; 15 of 31 days 199.60; 21 of 31 days 279.44
    rate, half, late = Decimal("412.50"), Decimal("199.60"), Decimal("279.44")
    old_total = 6 * rate  # two unchanged, terminated, cancelled, late start, Q's member
    new_total = 2 * rate + half + rate + late + rate + half  # activated and added are full
    assert result["total_charge"] == {
        "a": str(new_total),
        "b": str(old_total),
        "delta": str(new_total - old_total),
    }
    # and the totals agree with each run's own summary (the same definitions)
    assert result["total_charge"]["a"] == regen.second.summary["total_charge"]
    assert result["total_charge"]["b"] == regen.first.summary["total_charge"]

    # and six member-months changed: four classes, one amount, one added
    assert result["changed"] == len(want["changed"]) == 6
    assert result["by_kind"] == {"added": 1, "removed": 0, "class": 4, "amount": 1}
    assert result["by_transition"] == want["by_transition"]
    assert result["by_transition"] == {
        "ABSENT->BILLED_ACTIVE": 1,
        "BILLED_ACTIVE->BILLED_ACTIVE": 1,
        "BILLED_ACTIVE->BILLED_PARTIAL_TERM": 2,
        "BILLED_ACTIVE->NOT_BILLED_TERMINATED": 1,
        "NOT_BILLED_PENDING->BILLED_ACTIVE": 1,
    }
    assert sum(result["by_transition"].values()) == result["changed"]


def test_changed_members_carry_old_and_new_class_amount_and_delta(world, regen):
    owner = world.actor(S.Role.OWNER)
    pair = comparison.comparison_pair(owner, regen.second, regen.first.pk)

    # when every change is read
    tally, changes = comparison.comparison_scan(owner, pair, offset=0, limit=100)

    # then they are the expected keys, in (payer, member, month) order
    want = cb.expected(regen.second, regen.first)
    assert [c.key for c in changes] == sorted(want["changed"])
    by_member = {c.any.member_id: c for c in changes}
    t = by_member[regen.terminated.pk]
    assert (t.kind, t.old_class, t.old_amount, t.new_class, t.new_amount, t.delta) == (
        "class",
        "BILLED_ACTIVE",
        Decimal("412.50"),
        "BILLED_PARTIAL_TERM",
        Decimal("199.60"),
        Decimal("-212.90"),
    )
    late = by_member[regen.late_start.pk]
    assert (late.kind, late.new_class, late.delta) == (
        "amount",
        "BILLED_ACTIVE",
        Decimal("-133.06"),
    )
    added = by_member[regen.added.pk]
    assert (added.kind, added.old, added.new_class, added.delta) == (
        "added",
        None,
        "BILLED_ACTIVE",
        Decimal("412.50"),
    )
    # the decision ids point at each run's decision
    assert t.old.decision_id == Decision.objects.get(run=regen.first, member=regen.terminated).pk
    assert t.new.decision_id == Decision.objects.get(run=regen.second, member=regen.terminated).pk
    # and the member-level differences add up to the total charge difference
    assert sum(c.delta for c in changes) == Decimal(tally.totals()["total_charge"]["delta"])
    assert tally.changed_delta == sum(c.delta for c in changes)


def test_comparing_the_other_way_round_reports_removed_members(world, regen):
    # when the superseded run is compared with its regeneration
    result = _summary(world.actor(S.Role.OWNER), regen.first, regen.second)

    # then the added member is removed, and every difference changes sign
    assert result["by_kind"] == {"added": 0, "removed": 1, "class": 4, "amount": 1}
    assert result["by_transition"]["BILLED_ACTIVE->ABSENT"] == 1
    assert result["members"] == {"a": 7, "b": 8, "delta": -1}
    want = cb.expected(regen.first, regen.second)
    assert result["total_charge"] == want["totals"]["total_charge"]


def test_transition_matrix_counts_every_member_month_by_old_and_new_class(world, regen):
    owner = world.actor(S.Role.OWNER)
    result = _summary(owner, regen.second, regen.first)
    matrix = result["matrix"]

    # rows are the classes of the run compared with, columns those of this run
    assert matrix["rows"] == ["BILLED_ACTIVE", "NOT_BILLED_PENDING", "ABSENT"]
    assert matrix["columns"] == [
        "BILLED_ACTIVE",
        "BILLED_PARTIAL_TERM",
        "NOT_BILLED_TERMINATED",
    ]
    cells = {
        (row, col): n
        for row, counts in zip(matrix["rows"], matrix["counts"], strict=True)
        for col, n in zip(matrix["columns"], counts, strict=True)
    }
    want = cb.expected(regen.second, regen.first)["matrix"]
    assert {k: v for k, v in cells.items() if v} == want
    # two unchanged members and the late start stay on the diagonal
    assert cells[("BILLED_ACTIVE", "BILLED_ACTIVE")] == 3
    assert cells[("BILLED_ACTIVE", "BILLED_PARTIAL_TERM")] == 2
    assert cells[("NOT_BILLED_PENDING", "BILLED_ACTIVE")] == 1
    assert cells[("ABSENT", "BILLED_ACTIVE")] == 1
    # every member-month of either run is counted once
    assert sum(map(sum, matrix["counts"])) == 8


def test_simulation_is_compared_with_the_authoritative_run_of_its_month(world):
    # given an authoritative production run of October for a payer
    p = b.payer_with_rules(world.tenant)
    stays = b.member(world.tenant, p)
    leaves = b.member(world.tenant, p)
    production = sb.done_run(world.tenant, [p], package=False)
    # and a simulation after an amended file cancelled one member's coverage
    sb.amended(p, leaves, status="CANCELLED")
    simulation = sb.done_run(world.tenant, [p], mode=sb.SIMULATION)
    owner = world.actor(S.Role.OWNER)

    # then the simulation's default partner is the authoritative run
    assert comparison.comparison_default(owner, simulation) == production
    # and a production run with nothing to regenerate has none
    assert comparison.comparison_default(owner, production) is None

    # when they are compared
    result = _summary(owner, simulation, production)

    # then the totals and the one change are those of the Decision rows
    want = cb.expected(simulation, production)
    assert {k: result[k] for k in want["totals"]} == want["totals"]
    assert result["total_charge"] == {"a": "412.50", "b": "825.00", "delta": "-412.50"}
    assert result["changed"] == 1
    assert result["by_transition"] == {"BILLED_ACTIVE->NOT_BILLED_TERMINATED": 1}
    assert Decision.objects.get(run=simulation, member=stays).decision_class == "BILLED_ACTIVE"


def test_regeneration_default_partner_is_the_run_it_supersedes(world, regen):
    owner = world.actor(S.Role.OWNER)
    assert comparison.comparison_default(owner, regen.second) == regen.first


# --- refusals ------------------------------------------------------------------------------------


def test_comparison_refuses_runs_that_do_not_compare(world, regen):
    owner = world.actor(S.Role.OWNER)
    run = regen.second

    # the with parameter is required and must be a run id
    for value in (None, "", "abc", "-3"):
        with pytest.raises(DomainError) as refused:
            comparison.comparison_pair(owner, run, value)
        assert refused.value.http_status == 400 and refused.value.message.startswith("with:")
    # not the run itself
    with pytest.raises(DomainError, match="other than run"):
        comparison.comparison_pair(owner, run, run.pk)
    # not another month
    september = b.completed_run(world.tenant, [regen.p], month=date(2026, 9, 1))
    with pytest.raises(DomainError) as refused:
        comparison.comparison_pair(owner, run, september.pk)
    assert refused.value.http_status == 400
    assert "only runs of the same month can be compared" in refused.value.message
    assert "2026-09" in refused.value.message and "2026-10" in refused.value.message
    # not a run still queued
    queued = b.trigger(world.tenant, [regen.p], mode=BillingRun.Mode.SIMULATION)
    with pytest.raises(Conflict) as refused:
        comparison.comparison_pair(owner, run, queued.pk)
    assert refused.value.http_status == 409 and "QUEUED" in refused.value.message
    # not another tenant's run, nor one that does not exist
    theirs = b.completed_run(world.other_tenant, [b.billed_payer(world.other_tenant)])
    for other in (theirs.pk, 999999):
        with pytest.raises(NotFound):
            comparison.comparison_pair(owner, run, other)


def test_runs_of_the_month_without_a_common_payer_are_refused(world, regen):
    other = b.billed_payer(world.tenant)
    alone = b.completed_run(world.tenant, [other], mode=BillingRun.Mode.SIMULATION)
    with pytest.raises(Conflict, match="no payer in common"):
        comparison.comparison_pair(world.actor(S.Role.OWNER), regen.second, alone.pk)


# --- payer grants --------------------------------------------------------------------------------


def _narrow(world, role, payer):
    user = world.users[role]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=user)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=payer)


def test_a_member_narrowed_to_a_payer_compares_only_that_payer(world, regen):
    # given an OPERATIONS member limited to payer Q
    _narrow(world, S.Role.OPERATIONS, regen.q)
    client = world.client(S.Role.OPERATIONS)

    # when they compare the runs through the API
    body = client.get(f"{API}/{regen.second.pk}/compare?with={regen.first.pk}").json()

    # then only Q's figures and Q's member appear
    want = cb.expected(regen.second, regen.first, payers=[regen.q])
    assert body["payers"] == [regen.q.code]
    assert {k: body[k] for k in want["totals"]} == want["totals"]
    assert body["changed"] == 1
    assert [c["member"] for c in body["changes"]["results"]] == [regen.q_terminated.external_id]
    # and the CSV holds Q's row only
    rows = _csv(client.get(f"{API}/{regen.second.pk}/compare.csv?with={regen.first.pk}"))
    assert [r[1] for r in rows[1:]] == [regen.q_terminated.external_id]


# --- API -----------------------------------------------------------------------------------------


def test_api_compare_returns_totals_matrix_and_the_first_page_of_changes(world, regen):
    client = world.client(S.Role.VIEWER)
    url = f"{API}/{regen.second.pk}/compare?with={regen.first.pk}&page_size=4"

    response = client.get(url)

    assert response.status_code == 200
    body = response.json()
    want = cb.expected(regen.second, regen.first)
    assert (body["run"], body["with"], body["month"]) == (
        regen.second.pk,
        regen.first.pk,
        "2026-10",
    )
    assert body["payers"] == sorted([regen.p.code, regen.q.code])
    assert {k: body[k] for k in want["totals"]} == want["totals"]
    assert body["changed"] == 6 and body["by_transition"] == want["by_transition"]
    assert sum(map(sum, body["matrix"]["counts"])) == 8
    # the first page holds four changes; its next link continues at /compare/changes
    first = body["changes"]
    assert len(first["results"]) == 4
    assert "/compare/changes?" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2 and second["next"] is None
    members = [c["member"] for c in first["results"] + second["results"]]
    assert len(set(members)) == 6
    terminated = next(
        c
        for c in first["results"] + second["results"]
        if c["member"] == regen.terminated.external_id
    )
    assert terminated["change"] == "class"
    assert terminated["old"]["decision_class"] == "BILLED_ACTIVE"
    assert terminated["old"]["amount"] == "412.50"
    assert terminated["new"] == {
        "decision": Decision.objects.get(run=regen.second, member=regen.terminated).pk,
        "decision_class": "BILLED_PARTIAL_TERM",
        "billable": True,
        "amount": "199.60",
    }
    assert terminated["delta"] == "-212.90" and terminated["month"] == "2026-10"
    added = next(c for c in second["results"] + first["results"] if c["change"] == "added")
    assert added["old"] is None


def test_api_changes_filter_by_kind_and_transition(world, regen):
    client = world.client(S.Role.VIEWER)
    base = f"{API}/{regen.second.pk}/compare/changes?with={regen.first.pk}"

    added = client.get(f"{base}&kind=added").json()["results"]
    assert [c["member"] for c in added] == [regen.added.external_id]
    partial = client.get(f"{base}&from=BILLED_ACTIVE&to=BILLED_PARTIAL_TERM").json()["results"]
    assert {c["member"] for c in partial} == {
        regen.terminated.external_id,
        regen.q_terminated.external_id,
    }


def test_api_compare_refusals_name_the_field(world, regen):
    client = world.client(S.Role.VIEWER)
    url = f"{API}/{regen.second.pk}/compare"
    september = b.completed_run(world.tenant, [regen.p], month=date(2026, 9, 1))
    queued = b.trigger(world.tenant, [regen.p], mode=BillingRun.Mode.SIMULATION)
    theirs = b.completed_run(world.other_tenant, [b.billed_payer(world.other_tenant)])
    cases = [
        ("", 400, "with:"),
        ("?with=x", 400, "with:"),
        (f"?with={regen.second.pk}", 400, "other than run"),
        (f"?with={september.pk}", 400, "same month"),
        (f"?with={queued.pk}", 409, "QUEUED"),
        (f"?with={theirs.pk}", 404, "does not exist"),
        (f"?with={regen.first.pk}&kind=moved", 400, "kind:"),
        (f"?with={regen.first.pk}&to=PAID", 400, "to:"),
        (f"/changes?with={regen.first.pk}&cursor=%%%", 400, "cursor:"),
        (f"?with={regen.first.pk}&page_size=0", 400, "page_size"),
    ]
    for query, code, text in cases:
        response = client.get(f"{url}{query}")
        assert response.status_code == code, (query, response.content)
        error = response.json()["error"]
        assert text in error["message"], (query, error)


def test_api_compare_csv_streams_the_changes_and_is_audited(world, regen):
    client = world.client(S.Role.VIEWER)
    response = client.get(f"{API}/{regen.second.pk}/compare.csv?with={regen.first.pk}")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    name = f"compare-run{regen.second.pk}-vs-run{regen.first.pk}-2026-10.csv"
    assert name in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == comparison.CSV_COLUMNS
    assert len(rows) == 7
    by_member = {r[1]: r for r in rows[1:]}
    old_id = Decision.objects.get(run=regen.first, member=regen.cancelled).pk
    new_id = Decision.objects.get(run=regen.second, member=regen.cancelled).pk
    assert by_member[regen.cancelled.external_id] == [
        regen.p.code,
        regen.cancelled.external_id,
        "2026-10",
        "class",
        "BILLED_ACTIVE",
        "412.50",
        "NOT_BILLED_TERMINATED",
        "0.00",
        "-412.50",
        str(old_id),
        str(new_id),
    ]
    added = by_member[regen.added.external_id]
    assert added[3:9] == ["added", "", "", "BILLED_ACTIVE", "412.50", "412.50"]
    assert added[9] == ""
    entry = AuditEntry.objects.filter(action="phi.export").latest("id")
    assert entry.object_id == str(regen.second.pk)
    assert entry.payload["export"] == "comparison" and entry.payload["with"] == regen.first.pk


# --- command -------------------------------------------------------------------------------------


def test_compare_runs_command_prints_one_json_line_of_totals(world, regen):
    out = io.StringIO()
    call_command("compare_runs", "--run", regen.second.pk, "--with", regen.first.pk, stdout=out)

    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    want = cb.expected(regen.second, regen.first)
    assert (result["run"], result["with"]) == (regen.second.pk, regen.first.pk)
    assert {k: result[k] for k in want["totals"]} == want["totals"]
    assert result["changed"] == 6
    assert result["by_transition"] == want["by_transition"]


def test_compare_runs_command_exits_2_on_bad_ids(world, regen):
    theirs = b.completed_run(world.other_tenant, [b.billed_payer(world.other_tenant)])
    cases = [
        (("--run", 999999, "--with", regen.first.pk), "--run: no billing run 999999"),
        (("--run", regen.second.pk, "--with", 999999), "--with: billing run 999999"),
        (("--run", regen.second.pk, "--with", theirs.pk), "does not exist"),
        (("--run", regen.second.pk, "--with", regen.second.pk), "other than run"),
    ]
    for args, text in cases:
        with pytest.raises(CommandError) as failed:
            call_command("compare_runs", *args, stdout=io.StringIO())
        assert failed.value.returncode == 2
        assert text in str(failed.value)


# --- screen --------------------------------------------------------------------------------------


def test_compare_screen_defaults_to_the_superseded_run(world, regen):
    client = _screen(world)

    # the run page links to the comparison
    page = client.get(f"/billing/runs/{regen.second.pk}/").content.decode()
    assert f'href="/billing/runs/{regen.second.pk}/compare/"' in page

    # which compares with the run it supersedes by default
    response = client.get(f"/billing/runs/{regen.second.pk}/compare/")
    assert response.status_code == 200
    text = response.content.decode()
    assert f'<option value="{regen.first.pk}" selected>' in text
    assert response.context["pair"].base == regen.first
    totals = {t["id"]: t for t in response.context["totals"]}
    assert (totals["members"]["a"], totals["members"]["b"], totals["members"]["delta"]) == (8, 7, 1)
    assert (
        totals["charge"]["delta"]
        == cb.expected(regen.second, regen.first)["totals"]["total_charge"]["delta"]
    )
    assert "-$146.36" in text  # the total charge difference, readable
    # the matrix, a chart and the six changes with links to both decisions
    assert 'id="compare-matrix"' in text and "<svg" in text
    assert len(response.context["changes"]) == 6
    decision = Decision.objects.get(run=regen.second, member=regen.terminated)
    assert f'href="/billing/decisions/{decision.pk}/"' in text
    assert regen.terminated.external_id in text
    assert f"/billing/runs/{regen.second.pk}/compare.csv?with={regen.first.pk}" in text


def test_compare_screen_filters_by_change_kind_and_pages(world, regen, monkeypatch):
    client = _screen(world)
    url = f"/billing/runs/{regen.second.pk}/compare/?with={regen.first.pk}"

    only_added = client.get(f"{url}&kind=added")
    assert [c["member"] for c in only_added.context["changes"]] == [regen.added.external_id]
    assert only_added.context["page"]["count"] == 1

    from billing.views import compare as compare_views

    monkeypatch.setattr(compare_views, "PAGE_SIZE", 4)
    first = client.get(url)
    second = client.get(f"{url}&page=2")
    assert first.context["page"]["pages"] == 2 and len(first.context["changes"]) == 4
    assert len(second.context["changes"]) == 2
    assert "page=2" in first.context["page"]["next"]
    members = [c["member"] for c in first.context["changes"] + second.context["changes"]]
    assert len(set(members)) == 6


def test_compare_screen_keeps_the_choice_and_shows_the_error_beside_it(world, regen):
    client = _screen(world)
    september = b.completed_run(world.tenant, [regen.p], month=date(2026, 9, 1))

    response = client.get(f"/billing/runs/{regen.second.pk}/compare/?with={september.pk}")

    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="compare-error"' in text and "same month" in text
    assert 'id="compare-matrix"' not in text


def test_compare_screen_without_a_default_asks_to_choose(world):
    p = b.billed_payer(world.tenant)
    run = b.completed_run(world.tenant, [p])
    response = _screen(world).get(f"/billing/runs/{run.pk}/compare/")
    assert response.status_code == 200
    assert "No other finished run of October 2026" in response.content.decode()


def test_compare_screen_csv_carries_the_filters(world, regen):
    client = _screen(world)
    response = client.get(
        f"/billing/runs/{regen.second.pk}/compare.csv?with={regen.first.pk}&kind=amount"
    )
    rows = _csv(response)
    assert rows[0] == comparison.CSV_COLUMNS
    assert [r[1] for r in rows[1:]] == [regen.late_start.external_id]
    assert rows[1][8] == "-133.06"


# --- the pure merge ------------------------------------------------------------------------------


def _row(payer, member, cls="BILLED_ACTIVE", amount="412.50", month=date(2026, 10, 1)):
    return diff.Row(payer, member, month, member, cls, True, Decimal(amount), "P", f"M{member}")


def test_merge_pairs_interleaved_keys_and_tallies_them():
    old = [_row(1, 1), _row(1, 3), _row(2, 1, "NOT_BILLED_PENDING", "0.00")]
    new = [_row(1, 2), _row(1, 3, amount="100.00"), _row(2, 1, "BILLED_ACTIVE")]
    tally, page = diff.scan(diff.merge(old, new), date(2026, 10, 1), offset=0, limit=10)
    assert [(c.key[:2], c.kind) for c in page] == [
        ((1, 1), "removed"),
        ((1, 2), "added"),
        ((1, 3), "amount"),
        ((2, 1), "class"),
    ]
    assert tally.matrix == {
        ("BILLED_ACTIVE", "ABSENT"): 1,
        ("ABSENT", "BILLED_ACTIVE"): 1,
        ("BILLED_ACTIVE", "BILLED_ACTIVE"): 1,
        ("NOT_BILLED_PENDING", "BILLED_ACTIVE"): 1,
    }
    assert tally.totals()["total_charge"] == {"a": "925.00", "b": "825.00", "delta": "100.00"}


def test_delta_bars_diverge_from_the_centre():
    chart = diff.delta_bars([("Billed", 3), ("Pending", -1), ("Same", 0)])
    up, down, same = chart["bars"]
    assert up["x"] == chart["centre"] and up["w"] > down["w"] > 0
    assert down["x"] + down["w"] == chart["centre"] and down["anchor"] == "end"
    assert same["w"] == 0


CLASSES = ["BILLED_ACTIVE", "BILLED_PARTIAL_TERM", "NOT_BILLED_PENDING", "BILLED_RETROACTIVE"]
_decision = st.tuples(st.sampled_from(CLASSES), st.integers(min_value=-50000, max_value=50000))
_side = st.dictionaries(
    st.tuples(st.integers(1, 3), st.integers(1, 20), st.sampled_from([9, 10])), _decision
)


def _amounts(decision):
    if decision is None:
        return None
    cls, cents = decision
    return (cls, cents if cls.startswith("BILLED") else 0)


@given(old=_side, new=_side)
def test_merge_tallies_agree_with_a_dictionary_comparison(old, new):
    # given two runs' decisions as {(payer, member, month): (class, cents)}
    # (a decision not billed carries no amount, as the engine writes them)
    def rows(side):
        for (p, m, mo), (cls, cents) in sorted(side.items()):
            billable = cls.startswith("BILLED")
            amount = Decimal(cents if billable else 0) / 100
            yield diff.Row(p, m, date(2026, mo, 1), 0, cls, billable, amount, "P", "M")

    # when they are merged and tallied
    tally, page = diff.scan(diff.merge(rows(old), rows(new)), date(2026, 10, 1), limit=10**6)

    # then every key of either side is counted once, the changes are exactly the differing keys
    keys = old.keys() | new.keys()
    changed = {k for k in keys if _amounts(old.get(k)) != _amounts(new.get(k))}
    assert sum(tally.matrix.values()) == len(keys)
    assert tally.changed == len(changed) == sum(tally.by_transition().values())
    assert [c.key[:2] + (c.key[2].month,) for c in page] == sorted(changed)
    # and the member-level differences add up to the difference of the total charges
    totals = tally.totals()["total_charge"]
    assert sum((c.delta for c in page), Decimal("0.00")) == Decimal(totals["delta"])


def test_changed_members_link_the_member_screen_when_there_is_one(world, regen, settings):
    settings.ROOT_URLCONF = "tests.billing.urls_with_member"
    response = _screen(world).get(f"/billing/runs/{regen.second.pk}/compare/?with={regen.first.pk}")
    text = response.content.decode()
    member = regen.terminated
    assert f'<a href="/billing/members/{member.pk}/">{member.external_id}</a>' in text
