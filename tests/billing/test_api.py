"""The billing REST API (SPEC 4 Runs, SPEC 9): runs, decisions, exceptions, replay, exports,
overrides, rule versions, idempotency and per-payer grants."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.engine.months import add_months
from billing.models import (
    BillingRun,
    Decision,
    MemberMonthOverride,
    RuleVersion,
    RunException,
)
from core import scopes as S
from core.audit import verify_chain
from core.models import AuditEntry, OverrideRequest, TenantMembership
from core.services import object_access_grant, tenant_policy_update
from tests.billing import api_builders as b

RUNS = "/api/billing/runs"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def manager(world):
    return world.client(S.Role.BILLING_MANAGER)


def error_of(response) -> dict:
    """The error envelope's inner object (and check the envelope has its three keys)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def download(response) -> str:
    return b"".join(response.streaming_content).decode()


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def all_pages(client, url: str) -> list[list[dict]]:
    """Follow the cursor's `next` links; the results of every page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body["results"])
        url = body["next"]
    return pages


# --- trigger and follow a run -----------------------------------------------------------------


def test_run_trigger_executes_on_commit_and_shows_progress_and_summary(
    world, manager, django_capture_on_commit_callbacks
):
    # given a payer with two billable members and one whose benefit suffix is unknown
    payer = b.payer_with_rules(world.tenant)
    b.member(world.tenant, payer)
    b.member(world.tenant, payer)
    b.member(world.tenant, payer, benefit_suffix=b.UNKNOWN_SUFFIX)

    # when a billing manager triggers October through the API (tasks run synchronously)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(RUNS, {"month": "2026-10", "payers": [payer.code]}, format="json")

    # then the run was accepted as a queued production run of version 1
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "QUEUED"
    assert created["mode"] == "PRODUCTION"
    assert created["month"] == "2026-10"
    assert created["version"] == 1
    assert created["payers"] == [payer.code]
    assert created["triggered_by"] == "alpha-billing_manager"

    # and once its tasks ran, the detail shows the outcome, full progress and the summary
    body = manager.get(f"{RUNS}/{created['id']}").json()
    assert body["status"] == "COMPLETED_WITH_EXCEPTIONS"
    assert body["progress"] == {
        "members_total": 3,
        "members_done": 3,
        "percent": 100,
        "chunks_total": 1,
        "chunks_done": 1,
    }
    assert body["decisions_count"] == 3
    assert body["open_exceptions"] == 1
    assert body["final_hash"]
    summary = body["summary"]
    assert summary["members"] == 3
    assert summary["billable_members"] == 2
    assert summary["total_charge"] == "825.00"
    assert summary["mean_charge"] == "412.50"
    assert summary["by_class"] == {
        "BILLED_ACTIVE": {"count": 2, "amount": "825.00"},
        "NOT_BILLED_PENDING": {"count": 1, "amount": "0.00"},
    }


def test_run_trigger_with_all_payers_covers_every_active_payer(
    world, manager, django_capture_on_commit_callbacks
):
    # given two active payers with a member each and an inactive payer
    first = b.billed_payer(world.tenant, code="AAA")
    second = b.billed_payer(world.tenant, code="BBB")
    b.payer(world.tenant, "ZZZ", active=False)

    # when a run is triggered for "all" payers
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(RUNS, {"month": "2026-10", "payers": "all"}, format="json")

    # then it covers exactly the active ones and bills both members
    assert response.status_code == 201, response.content
    assert response.json()["payers"] == [first.code, second.code]
    body = manager.get(f"{RUNS}/{response.json()['id']}").json()
    assert body["status"] == "COMPLETED"
    assert body["summary"]["billable_members"] == 2
    assert set(body["summary"]["by_payer"]) == {"AAA", "BBB"}


def test_run_trigger_with_an_invalid_month_is_refused_naming_the_month(world, manager):
    # given a payer
    payer = b.payer_with_rules(world.tenant)

    # when month 13 is asked for
    response = manager.post(RUNS, {"month": "2026-13", "payers": [payer.code]}, format="json")

    # then a 400 names the month field, and no run exists
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["message"].startswith("month")
    assert "month" in error["details"]
    assert not BillingRun.objects.exists()


def test_run_trigger_for_a_future_month_is_refused(world, manager):
    # given a payer and the month after the current one
    payer = b.payer_with_rules(world.tenant)
    future = add_months(timezone.localdate().replace(day=1), 1)

    # when that month is triggered
    response = manager.post(
        RUNS, {"month": f"{future:%Y-%m}", "payers": [payer.code]}, format="json"
    )

    # then a 400 says it is in the future
    assert response.status_code == 400
    error = error_of(response)
    assert error["message"].startswith("month")
    assert "future" in error["message"]
    assert not BillingRun.objects.exists()


def test_run_trigger_with_an_unknown_payer_is_refused(world, manager):
    # given one known payer
    payer = b.payer_with_rules(world.tenant)

    # when a run names it and an unknown one
    response = manager.post(
        RUNS, {"month": "2026-10", "payers": [payer.code, "NOPE"]}, format="json"
    )

    # then a 400 names the unknown payer and nothing is queued
    assert response.status_code == 400
    error = error_of(response)
    assert "NOPE" in error["message"]
    assert error["details"] == {"payers": ["NOPE"]}
    assert not BillingRun.objects.exists()


def test_second_production_trigger_of_a_completed_month_is_a_conflict(world, manager):
    # given October of a payer already has a completed production run
    payer = b.billed_payer(world.tenant)
    done = b.completed_run(world.tenant, [payer])

    # when October is triggered again in production
    response = manager.post(RUNS, {"month": "2026-10", "payers": [payer.code]}, format="json")

    # then 409 with the error envelope points to the run to regenerate instead
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict"
    assert f"#{done.pk}" in error["message"]
    assert "regenerate" in error["message"]
    assert error["details"] == {"run": done.pk, "payer": payer.code}
    assert BillingRun.objects.count() == 1


def test_run_trigger_replays_the_first_response_for_the_same_idempotency_key(world, manager):
    # given a payer
    payer = b.payer_with_rules(world.tenant)
    body = {"month": "2026-10", "payers": [payer.code], "mode": "SIMULATION"}

    # when the same trigger is sent twice with one Idempotency-Key
    first = manager.post(RUNS, body, format="json", HTTP_IDEMPOTENCY_KEY="trigger-oct-1")
    second = manager.post(RUNS, body, format="json", HTTP_IDEMPOTENCY_KEY="trigger-oct-1")

    # then the second gets the first response back and no second run was made
    assert first.status_code == 201, first.content
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert BillingRun.objects.count() == 1

    # and the same key with another body is refused
    other = manager.post(
        RUNS, {**body, "month": "2026-09"}, format="json", HTTP_IDEMPOTENCY_KEY="trigger-oct-1"
    )
    assert other.status_code == 422
    assert BillingRun.objects.count() == 1


def test_run_list_filters_by_month_payer_status_and_mode(world, manager):
    # given a completed production run of payer A in October, a simulation of B in September
    a = b.billed_payer(world.tenant)
    c = b.billed_payer(world.tenant)
    prod = b.completed_run(world.tenant, [a])
    sim = b.trigger(world.tenant, [c], month=date(2026, 9, 1), mode="SIMULATION")

    def ids(query: str) -> list[int]:
        response = manager.get(f"{RUNS}?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    # then each filter keeps only its run
    assert ids("") == [sim.pk, prod.pk]
    assert ids("month=2026-10") == [prod.pk]
    assert ids(f"payer={c.code.lower()}") == [sim.pk]
    assert ids("status=completed") == [prod.pk]
    assert ids("mode=SIMULATION") == [sim.pk]


def test_run_cancel_of_a_queued_run(world, manager):
    # given a queued production run
    payer = b.billed_payer(world.tenant)
    run = b.trigger(world.tenant, [payer])

    # when it is cancelled
    response = manager.post(f"{RUNS}/{run.pk}/cancel", {"reason": "wrong month"}, format="json")

    # then it is CANCELLED and the month can be triggered again
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "CANCELLED"
    again = manager.post(RUNS, {"month": "2026-10", "payers": [payer.code]}, format="json")
    assert again.status_code == 201, again.content


# --- decisions --------------------------------------------------------------------------------


@pytest.fixture
def two_payer_run(world):
    """October for payers P1 (3 billable members, 1 pending) and P2 (1 billable member)."""
    p1 = b.payer_with_rules(world.tenant, "P1")
    p2 = b.payer_with_rules(world.tenant, "P2")
    members = [b.member(world.tenant, p1, f"M-{n}") for n in range(1, 4)]
    pending = b.member(world.tenant, p1, "M-PENDING", status="PENDING")
    other = b.member(world.tenant, p2, "M-P2")
    run = b.completed_run(world.tenant, [p1, p2])
    return run, p1, p2, members, pending, other


def test_decisions_filter_by_class_payer_and_member(world, manager, two_payer_run):
    run, p1, p2, members, pending, other = two_payer_run
    url = f"{RUNS}/{run.pk}/decisions"

    def members_of(query: str) -> list[str]:
        response = manager.get(f"{url}?{query}")
        assert response.status_code == 200, response.content
        return sorted(d["member"] for d in response.json()["results"])

    # then no filter lists all five decisions
    assert members_of("") == ["M-1", "M-2", "M-3", "M-P2", "M-PENDING"]
    # by class
    assert members_of("decision_class=NOT_BILLED_PENDING") == ["M-PENDING"]
    assert members_of("decision_class=BILLED_ACTIVE") == ["M-1", "M-2", "M-3", "M-P2"]
    # by payer (any case)
    assert members_of("payer=p2") == ["M-P2"]
    # by member
    assert members_of("member=M-2") == ["M-2"]
    # combined
    assert members_of("payer=P1&decision_class=BILLED_ACTIVE") == ["M-1", "M-2", "M-3"]
    # an unknown class is refused
    response = manager.get(f"{url}?decision_class=BILLED_MAYBE")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("decision_class")


def test_decisions_are_cursor_paginated_without_overlap(world, manager, two_payer_run):
    run = two_payer_run[0]

    # when the decisions are read two at a time, following `next`
    pages = all_pages(manager, f"{RUNS}/{run.pk}/decisions?page_size=2")

    # then three pages of 2, 2 and 1 cover every decision exactly once
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [d["id"] for page in pages for d in page]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(Decision.objects.filter(run=run).values_list("id", flat=True))


def test_decision_detail_has_its_inputs(world, manager, two_payer_run):
    run, p1, _, members, _, _ = two_payer_run
    decision = Decision.objects.get(run=run, member=members[0])

    # when one decision is read
    response = manager.get(f"/api/billing/decisions/{decision.pk}")

    # then it carries its outcome and every input it used
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decision_class"] == "BILLED_ACTIVE"
    assert body["amount"] == "412.50"
    assert body["billable_days"] == 31
    assert body["payer"] == "P1"
    assert body["member"] == "M-1"
    assert body["month"] == "2026-10"
    assert body["rule_version"] == "v1"
    inputs = body["inputs"]
    assert inputs["winner"] is not None
    assert inputs["winner"] == decision.inputs["winner"]
    assert inputs["rule_version"]["version"] == "v1"
    assert inputs["rule_version"]["params_hash"]
    assert inputs["age"] == 46
    assert len(inputs["assertions"]) == 1
    assert len(inputs["services"]) == 1


def test_decision_replay_shows_old_and_new_and_writes_only_an_audit_entry(world, two_payer_run):
    run, p1, _, members, _, _ = two_payer_run
    decision = Decision.objects.get(run=run, member=members[0])
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "500.00"}]
    b.rule_version(world.tenant, p1, version="v2", raw=b.params(pricing_tiers=tiers))
    client = world.client(S.Role.OPERATIONS)
    decisions_before = Decision.objects.count()

    # when the decision is replayed under v2
    response = client.post(
        f"/api/billing/decisions/{decision.pk}/replay", {"rule_version": "v2"}, format="json"
    )

    # then old and new are shown, with the changed amount and the inputs that differ
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["old"]["amount"] == "412.50"
    assert body["old"]["rule_version"] == "v1"
    assert body["new"]["amount"] == "500.00"
    assert body["new"]["rule_version"] == "v2"
    assert body["new"]["decision_class"] == body["old"]["decision_class"] == "BILLED_ACTIVE"
    assert body["changed"] is True
    assert "tier" in body["differing_inputs"]
    assert "rule_version" in body["differing_inputs"]

    # and under its own version nothing changes
    same = client.post(
        f"/api/billing/decisions/{decision.pk}/replay", {"rule_version": "v1"}, format="json"
    ).json()
    assert same["changed"] is False
    assert same["new"]["amount"] == "412.50"

    # and replays wrote audit entries, not decisions
    assert Decision.objects.count() == decisions_before
    replays = AuditEntry.objects.filter(
        tenant=world.tenant, action="DECISION_REPLAYED", object_id=str(decision.pk)
    )
    assert replays.count() == 2

    # and a version the payer does not have is a 404
    missing = client.post(
        f"/api/billing/decisions/{decision.pk}/replay", {"rule_version": "v9"}, format="json"
    )
    assert missing.status_code == 404
    assert "v9" in error_of(missing)["message"]


# --- exceptions -------------------------------------------------------------------------------


def test_exceptions_list_and_resolve_completes_the_run(world):
    # given a completed run with one open exception
    run, exc = b.run_with_exception(world.tenant)
    assert run.status == "COMPLETED_WITH_EXCEPTIONS"
    client = world.client(S.Role.OPERATIONS)

    # then the run's exceptions list shows it
    listed = client.get(f"{RUNS}/{run.pk}/exceptions").json()["results"]
    assert [(e["id"], e["code"], e["status"]) for e in listed] == [
        (exc.pk, "UNKNOWN_BENEFIT_COMBINATION", "OPEN")
    ]
    assert listed[0]["month"] == "2026-10"

    # when it is resolved with an empty note, it is refused
    url = f"/api/billing/exceptions/{exc.pk}/resolve"
    empty = client.post(url, {"resolution": ""}, format="json")
    assert empty.status_code == 400
    assert error_of(empty)["message"].startswith("resolution")
    assert RunException.objects.get(pk=exc.pk).status == "OPEN"

    # when it is resolved with a note
    response = client.post(url, {"resolution": "suffix X is dental; rules fixed"}, format="json")

    # then it is RESOLVED by that user and the run is COMPLETED with nothing open
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "RESOLVED"
    assert body["resolved_by"] == "alpha-operations"
    assert body["resolution"] == "suffix X is dental; rules fixed"
    detail = client.get(f"{RUNS}/{run.pk}").json()
    assert detail["status"] == "COMPLETED"
    assert detail["open_exceptions"] == 0
    assert client.get(f"{RUNS}/{run.pk}/exceptions?status=OPEN").json()["results"] == []
    assert AuditEntry.objects.filter(
        tenant=world.tenant, action="RUN_EXCEPTION_RESOLVED", object_id=str(exc.pk)
    ).exists()

    # and resolving it again is a conflict
    again = client.post(url, {"resolution": "twice"}, format="json")
    assert again.status_code == 409


# --- regeneration -----------------------------------------------------------------------------


def test_regenerate_makes_version_2_and_supersedes_the_old_run_once_complete(
    world, manager, django_capture_on_commit_callbacks
):
    # given a completed production run
    payer = b.billed_payer(world.tenant)
    old = b.completed_run(world.tenant, [payer])
    url = f"{RUNS}/{old.pk}/regenerate"

    # a regeneration without a reason is refused
    assert manager.post(url, {}, format="json").status_code == 400

    # when it is regenerated with a reason (tasks run synchronously)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url, {"reason": "corrected eligibility"}, format="json")

    # then a version 2 superseding it was created
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["version"] == 2
    assert new["supersedes"] == old.pk
    assert new["reason"] == "corrected eligibility"

    # and once complete, the old run is SUPERSEDED and the new one is authoritative
    assert manager.get(f"{RUNS}/{new['id']}").json()["status"] == "COMPLETED"
    assert manager.get(f"{RUNS}/{old.pk}").json()["status"] == "SUPERSEDED"

    # and the superseded run cannot be regenerated again
    stale = manager.post(url, {"reason": "again"}, format="json")
    assert stale.status_code == 409
    assert f"#{new['id']}" in error_of(stale)["message"]


def test_regenerate_while_the_new_version_is_queued_is_a_conflict(world, manager):
    # given a completed run whose regeneration is queued (its tasks have not run)
    payer = b.billed_payer(world.tenant)
    old = b.completed_run(world.tenant, [payer])
    url = f"{RUNS}/{old.pk}/regenerate"
    first = manager.post(url, {"reason": "corrected eligibility"}, format="json")
    assert first.status_code == 201, first.content

    # when it is regenerated a second time
    second = manager.post(url, {"reason": "once more"}, format="json")

    # then only one production run of the month may be queued: 409, naming the queued run
    assert second.status_code == 409
    assert f"#{first.json()['id']}" in error_of(second)["message"]
    assert BillingRun.objects.filter(supersedes=old).count() == 1


def test_cancel_of_a_completed_run_is_refused(world, manager):
    run = b.completed_run(world.tenant, [b.billed_payer(world.tenant)])
    response = manager.post(f"{RUNS}/{run.pk}/cancel", {"reason": "too late"}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "transition_not_allowed"
    assert "COMPLETED" in error["message"]
    run.refresh_from_db()
    assert run.status == "COMPLETED"


# --- exports ----------------------------------------------------------------------------------


def test_roster_csv_has_one_row_per_billable_decision_and_a_footer(world, manager):
    # given a run with 2 billable members, 1 pending and 1 open exception
    payer = b.payer_with_rules(world.tenant)
    b.member(world.tenant, payer, "R-1")
    b.member(world.tenant, payer, "R-2")
    b.member(world.tenant, payer, "R-3", status="PENDING")
    b.member(world.tenant, payer, "R-4", benefit_suffix=b.UNKNOWN_SUFFIX)
    run = b.completed_run(world.tenant, [payer])

    # when the roster is downloaded
    response = manager.get(f"{RUNS}/{run.pk}/roster.csv")

    # then it is CSV named after the run
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"roster-run{run.pk}-2026-10-v1.csv" in response["Content-Disposition"]
    rows = csv_rows(download(response))
    assert rows[0] == [
        "member_id",
        "first_name",
        "last_name",
        "payer",
        "month",
        "decision_class",
        "billable_days",
        "tier",
        "amount",
    ]
    body, footer = rows[1:-3], rows[-3:]
    billable = Decision.objects.filter(run=run, billable=True).count()
    assert billable == 2
    assert len(body) == billable
    assert [r[0] for r in body] == ["R-1", "R-2"]
    assert body[0][3:] == [payer.code, "2026-10-01", "BILLED_ACTIVE", "31", body[0][7], "412.50"]
    assert footer == [
        ["# rows", "2"],
        ["# total_amount", "825.00"],
        ["# unresolved_exceptions", "1"],
    ]


def test_decisions_csv_has_exactly_the_agreed_columns(world, manager, two_payer_run):
    run = two_payer_run[0]

    # when the decisions CSV is downloaded
    response = manager.get(f"{RUNS}/{run.pk}/decisions.csv")

    # then its columns are exactly these, with one row per decision (billable or not)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(download(response))
    assert rows[0] == [
        "member_id",
        "payer_code",
        "month",
        "decision_class",
        "billable_days",
        "amount",
        "tier",
        "rule_version",
    ]
    assert len(rows) - 1 == Decision.objects.filter(run=run).count() == 5
    pending = next(r for r in rows if r[0] == "M-PENDING")
    assert pending == ["M-PENDING", "P1", "2026-10-01", "NOT_BILLED_PENDING", "0", "0.00", "", "v1"]


def test_each_download_writes_a_phi_export_audit_entry(world, two_payer_run):
    run = two_payer_run[0]
    client = world.client(S.Role.VIEWER)
    entries = AuditEntry.objects.filter(
        tenant=world.tenant, action="phi.export", object_id=str(run.pk)
    )
    assert not entries.exists()

    # when the roster, the decisions and the roster again are downloaded
    for kind in ("roster", "decisions", "roster"):
        response = client.get(f"{RUNS}/{run.pk}/{kind}.csv")
        assert response.status_code == 200
        download(response)

    # then each download is in the audit chain, by whom and of what
    assert [e.payload["export"] for e in entries.order_by("seq")] == [
        "roster",
        "decisions",
        "roster",
    ]
    assert {e.actor_label for e in entries} == {"alpha-viewer"}
    assert verify_chain(world.tenant).ok


def test_exports_of_an_unfinished_run_are_a_conflict(world, manager):
    # given a queued run
    run = b.trigger(world.tenant, [b.billed_payer(world.tenant)])

    # then its roster is not ready yet
    response = manager.get(f"{RUNS}/{run.pk}/roster.csv")
    assert response.status_code == 409
    assert "QUEUED" in error_of(response)["message"]


# --- per-payer grants -------------------------------------------------------------------------


def test_per_payer_grant_narrows_runs_decisions_and_exports(world, two_payer_run):
    # given runs touching P1 only, P2 only and both
    both, p1, p2, _, _, other = two_payer_run
    only_p1 = b.completed_run(world.tenant, [p1], month=date(2026, 9, 1))
    only_p2 = b.completed_run(world.tenant, [p2], month=date(2026, 9, 1))
    # and an OPERATIONS member limited to payer P1
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=p1)
    client = world.client(S.Role.OPERATIONS)

    # then the runs list shows only runs touching P1
    runs = client.get(RUNS).json()["results"]
    assert sorted(r["id"] for r in runs) == sorted([both.pk, only_p1.pk])
    assert client.get(f"{RUNS}/{only_p2.pk}").status_code == 404
    assert client.get(f"{RUNS}/{only_p2.pk}/roster.csv").status_code == 404

    # and the shared run's decisions leave out P2
    decisions = client.get(f"{RUNS}/{both.pk}/decisions").json()["results"]
    assert {d["payer"] for d in decisions} == {"P1"}
    assert len(decisions) == 4
    assert client.get(f"{RUNS}/{both.pk}/decisions?payer=P2").json()["results"] == []

    # and a decision of P2 answers 404
    p2_decision = Decision.objects.get(run=both, member=other)
    assert client.get(f"/api/billing/decisions/{p2_decision.pk}").status_code == 404
    replay = client.post(
        f"/api/billing/decisions/{p2_decision.pk}/replay", {"rule_version": "v1"}, format="json"
    )
    assert replay.status_code == 404

    # and the roster and decisions CSV lack P2's rows
    roster = csv_rows(download(client.get(f"{RUNS}/{both.pk}/roster.csv")))
    assert {r[3] for r in roster[1:-3]} == {"P1"}
    assert roster[-3] == ["# rows", "3"]
    decisions_csv = csv_rows(download(client.get(f"{RUNS}/{both.pk}/decisions.csv")))
    assert {r[1] for r in decisions_csv[1:]} == {"P1"}

    # and the rule versions list shows P1's only
    versions = client.get("/api/billing/rule-versions").json()["results"]
    assert {v["payer"] for v in versions} == {"P1"}

    # while an unrestricted member still sees P2
    viewer = world.client(S.Role.VIEWER)
    assert viewer.get(f"/api/billing/decisions/{p2_decision.pk}").status_code == 200


def test_per_payer_grant_hides_exceptions_of_other_payers(world):
    # given a run with an exception of payer X and a member limited to another payer
    run, exc = b.run_with_exception(world.tenant)
    granted = b.payer_with_rules(world.tenant)
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=granted)
    client = world.client(S.Role.OPERATIONS)

    # then the exception can neither be reached through its run nor resolved
    assert client.get(f"{RUNS}/{run.pk}/exceptions").status_code == 404
    response = client.post(
        f"/api/billing/exceptions/{exc.pk}/resolve", {"resolution": "not mine"}, format="json"
    )
    assert response.status_code == 404
    assert RunException.objects.get(pk=exc.pk).status == "OPEN"


# --- overrides --------------------------------------------------------------------------------


def _override_body(payer, member) -> dict:
    return {
        "payer": payer.code,
        "member": member.external_id,
        "month": "2026-10",
        "outcome": "BILLABLE",
        "rate": "300.00",
        "reason": "payer confirmed coverage by phone",
    }


def test_override_without_dual_control_is_applied_at_once(world, manager):
    # given a member and no dual control
    payer = b.payer_with_rules(world.tenant)
    member = b.member(world.tenant, payer, status="PENDING")

    # when a billing manager files an override
    response = manager.post("/api/billing/overrides", _override_body(payer, member), format="json")

    # then it is applied (201) and listed
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["executed"] is True
    assert body["override"]["outcome"] == "BILLABLE"
    assert body["override"]["rate"] == "300.00"
    assert body["override"]["month"] == "2026-10"
    assert body["override"]["created_by"] == "alpha-billing_manager"
    override = MemberMonthOverride.objects.get()
    assert override.approved and override.active
    listed = manager.get("/api/billing/overrides").json()["results"]
    assert [o["id"] for o in listed] == [override.pk]

    # and a run of the month applies it
    run = b.completed_run(world.tenant, [payer])
    decision = Decision.objects.get(run=run, member=member)
    assert decision.decision_class == "OVERRIDE_APPLIED"
    assert decision.amount == Decimal("300.00")


def test_override_under_dual_control_waits_for_a_second_person(world, manager):
    # given the tenant puts member-month overrides under dual control
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    payer = b.payer_with_rules(world.tenant)
    member = b.member(world.tenant, payer)

    # when a billing manager files an override
    response = manager.post("/api/billing/overrides", _override_body(payer, member), format="json")

    # then it is accepted for approval (202), not applied
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["executed"] is False
    request = OverrideRequest.objects.get(pk=body["override_request"])
    assert request.status == "PENDING"
    assert request.requested_by == world.users[S.Role.BILLING_MANAGER]
    assert not MemberMonthOverride.objects.exists()


def test_override_not_billable_with_a_rate_is_refused(world, manager):
    payer = b.payer_with_rules(world.tenant)
    body = {**_override_body(payer, b.member(world.tenant, payer)), "outcome": "NOT_BILLABLE"}
    response = manager.post("/api/billing/overrides", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("rate")
    assert not MemberMonthOverride.objects.exists()


def test_override_list_is_narrowed_by_payer_grants(world, manager):
    # given overrides for members of two payers
    payers = [b.payer_with_rules(world.tenant) for _ in range(2)]
    for p in payers:
        body = _override_body(p, b.member(world.tenant, p))
        assert manager.post("/api/billing/overrides", body, format="json").status_code == 201
    # and an OPERATIONS member limited to the first payer
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=payers[0])

    # then that member sees only the first payer's override
    listed = world.client(S.Role.OPERATIONS).get("/api/billing/overrides").json()["results"]
    assert [o["payer"] for o in listed] == [payers[0].code]


def test_override_for_an_unknown_member_is_a_404(world, manager):
    payer = b.payer_with_rules(world.tenant)
    body = {**_override_body(payer, b.member(world.tenant, payer)), "member": "NOBODY"}
    response = manager.post("/api/billing/overrides", body, format="json")
    assert response.status_code == 404
    assert not MemberMonthOverride.objects.exists()


# --- rule versions ----------------------------------------------------------------------------


def test_rule_version_create_with_bad_params_names_the_path(world, manager):
    # given a payer
    payer = b.payer(world.tenant)
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "lots"}]

    # when a version with a non-numeric rate is created
    response = manager.post(
        "/api/billing/rule-versions",
        {
            "payer": payer.code,
            "version": "v1",
            "effective_from": "2025-01-01",
            "params": b.params(pricing_tiers=tiers),
        },
        format="json",
    )

    # then 400 names the offending path and nothing is stored
    assert response.status_code == 400
    error = error_of(response)
    assert "pricing_tiers[0].rate" in error["message"]
    assert any("pricing_tiers[0].rate" in v for v in error["details"]["params"])
    assert not RuleVersion.objects.exists()


def test_rule_version_create_update_activate_retire(world, manager):
    # given a payer
    payer = b.payer(world.tenant)

    # when a draft is created, changed, activated and retired
    created = manager.post(
        "/api/billing/rule-versions",
        {
            "payer": payer.code.lower(),
            "version": "2026.1",
            "effective_from": "2025-01-01",
            "params": b.params(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rv = created.json()
    assert rv["status"] == "DRAFT"
    assert rv["payer"] == payer.code
    url = f"/api/billing/rule-versions/{rv['id']}"
    patched = manager.patch(url, {"params": b.params(min_billable_days=5)}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["params"]["min_billable_days"] == 5
    assert patched.json()["params_hash"] != rv["params_hash"]
    activated = manager.post(f"{url}/activate", format="json")
    assert activated.json()["status"] == "ACTIVE"
    assert activated.json()["activated_at"]

    # then an ACTIVE version no longer changes
    frozen = manager.patch(url, {"params": b.params(min_billable_days=9)}, format="json")
    assert frozen.status_code == 409
    assert "ACTIVE" in error_of(frozen)["message"]
    assert RuleVersion.objects.get(pk=rv["id"]).params["min_billable_days"] == 5

    # and retiring it is allowed once, activating it again is not
    assert manager.post(f"{url}/retire", format="json").json()["status"] == "RETIRED"
    again = manager.post(f"{url}/activate", format="json")
    assert again.status_code == 409
    assert "RETIRED" in error_of(again)["message"]

    # and a duplicate label for the payer is a conflict
    duplicate = manager.post(
        "/api/billing/rule-versions",
        {
            "payer": payer.code,
            "version": "2026.1",
            "effective_from": "2025-01-01",
            "params": b.params(),
        },
        format="json",
    )
    assert duplicate.status_code == 409


def test_rule_versions_list_filters_by_payer(world, manager):
    a = b.payer_with_rules(world.tenant)
    c = b.payer_with_rules(world.tenant)
    listed = manager.get(f"/api/billing/rule-versions?payer={c.code}").json()["results"]
    assert [v["payer"] for v in listed] == [c.code]
    assert {v["payer"] for v in manager.get("/api/billing/rule-versions").json()["results"]} == {
        a.code,
        c.code,
    }


def test_run_detail_summary_narrowed_to_granted_payers(world):
    # given a completed run over two payers and an OPERATIONS member limited to the first
    from core.models import TenantMembership
    from core.services import object_access_grant

    p1 = b.payer_with_rules(world.tenant, "NARROW1")
    p2 = b.payer_with_rules(world.tenant, "NARROW2")
    b.member(world.tenant, p1, "N-001")
    b.member(world.tenant, p2, "N-002")
    run = b.completed_run(world.tenant, [p1, p2])
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=p1)

    # when the narrowed member reads the run
    body = world.client(S.Role.OPERATIONS).get(f"/api/billing/runs/{run.pk}").json()

    # then only the granted payer's figures are shown
    assert body["payers"] == ["NARROW1"]
    assert list(body["summary"]["by_payer"]) == ["NARROW1"]
    assert body["summary"]["members"] == 1
    assert body["summary"]["total_charge"] == body["summary"]["by_payer"]["NARROW1"]["amount"]
    # and the owner still sees both
    full = world.client(S.Role.OWNER).get(f"/api/billing/runs/{run.pk}").json()
    assert sorted(full["summary"]["by_payer"]) == ["NARROW1", "NARROW2"]
