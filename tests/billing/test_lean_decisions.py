"""Lean decision rows (issue 16): a run stores the facts a decision used as ids of the immutable
fact rows; every reader expands them into the rows the engine recorded, replay gives the same
decision, the fact rows refuse change, and a run's references are checked when it finalises."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.engine import DecisionClass, MemberFacts, evaluate, facts_from_inputs
from billing.engine.types import Assertion, Override, ServiceEvent
from billing.inputs import inputs_expand, inputs_is_lean
from billing.models import (
    BillingRun,
    Decision,
    EligibilityAssertion,
    Member,
    MemberMonthOverride,
    RunChunk,
    ServiceDeliveryEvent,
)
from billing.services.chunks import DECISION_FIELDS
from billing.services.finalize import billing_run_finalize
from billing.services.rules import engine_rules
from billing.services.runs import billing_run_trigger
from core import scopes as S
from core.bulk import insert_rows
from tests.billing.run_builders import (
    BIRTH,
    EARLY,
    assertion,
    member,
    month,
    payer,
    run_month,
    service,
)

AUG, SEP = month(2026, 8), month(2026, 9)
MEMBERS = 2000
SCENARIO_PARAMS = {"requires_service_delivery": True, "qualifying_service_codes": ["99213"]}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters are files: keep them in a temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


def inputs_lean(inputs: dict) -> dict:
    """The inputs with assertions and services as ids only (the form a run stores)."""
    if inputs_is_lean(inputs):
        return inputs
    return {
        **inputs,
        "assertions": [row[0] for row in inputs.get("assertions") or []],
        "services": [row[0] for row in inputs.get("services") or []],
    }


def _facts(tenant, p, members: list[Member], owner_user) -> None:
    """Facts giving every decision class over AUG (run 1) and SEP (run 2, retro for AUG)."""
    rows, services, overrides = [], [], []

    def a(m, status="ACTIVE", term=None, suffix="", kind="FULL_FILE", at=EARLY, effective=None):
        rows.append(
            (
                tenant.pk,
                p.pk,
                m.pk,
                kind,
                at.date(),
                at,
                status,
                effective or date(2026, 1, 1),
                term,
                "MED",
                suffix,
            )
        )

    def s(m, day, code="99213"):
        services.append((tenant.pk, p.pk, m.pk, day, code, EARLY))

    for n, m in enumerate(members):
        kind = n % 10
        if kind in (0, 5, 6, 8):  # billed; 5: overridden in SEP; 6: cancelled late for AUG
            a(m, suffix="D" if kind == 8 else "")
            if kind == 8:  # a second, older file and a change file: several assertions
                a(m, kind="CHANGE_FILE")
                a(m, kind="FULL_FILE", at=EARLY - timedelta(days=30))
            s(m, date(2026, 8, 3))
            s(m, date(2026, 9, 3))
            s(m, date(2026, 9, 4), code="11111")
        elif kind == 1:  # terminated inside SEP
            a(m, status="TERMINATED", term=date(2026, 9, 12))
            s(m, date(2026, 8, 3))
            s(m, date(2026, 9, 2))
        elif kind == 2:  # no qualifying service
            a(m)
            s(m, date(2026, 9, 5), code="11111")
        elif kind == 3:  # terminated before both months
            a(m, status="TERMINATED", term=date(2026, 7, 31))
        elif kind in (4, 7):  # pending; 7: made active late for AUG
            a(m, status="PENDING")
            s(m, date(2026, 8, 3))
        else:  # 9: two assertions tie on source, date and arrival yet disagree
            a(m)
            a(m, status="PENDING")
        if kind == 5:
            overrides.append(
                (tenant.pk, p.pk, m.pk, SEP, "NOT_BILLABLE", None, "test", owner_user.pk, True)
            )
    with transaction.atomic():
        fields = (
            "tenant",
            "payer",
            "member",
            "source_kind",
            "file_date",
            "received_at",
            "status",
            "effective_date",
            "termination_date",
            "benefit_code",
            "benefit_suffix",
        )
        insert_rows(EligibilityAssertion, fields, rows)
        insert_rows(
            ServiceDeliveryEvent,
            ("tenant", "payer", "member", "service_date", "service_code", "received_at"),
            services,
        )
    MemberMonthOverride.objects.bulk_create(
        MemberMonthOverride(
            tenant_id=t,
            payer_id=p_id,
            member_id=m_id,
            month=when,
            outcome=outcome,
            rate=rate,
            reason=reason,
            created_by_id=by,
            approved=approved,
        )
        for t, p_id, m_id, when, outcome, rate, reason, by, approved in overrides
    )


def _late_facts(tenant, p, members: list[Member]) -> None:
    """After run 1: AUG's billed members of kind 6 are cancelled, pending ones of kind 7 active."""
    now = timezone.now()
    for n, m in enumerate(members):
        if n % 10 == 6:
            assertion(p, m, status="CANCELLED", source_kind="MANUAL", received_at=now)
        elif n % 10 == 7:
            assertion(p, m, source_kind="MANUAL", received_at=now)


def _db_facts(tenant_id: int):
    """Each decision's member facts read straight from the tables (not the recorded inputs)."""
    assertions, services = defaultdict(list), defaultdict(list)
    for key, *row in EligibilityAssertion.objects.filter(tenant_id=tenant_id).values_list(
        "payer_id",
        "member_id",
        "id",
        "source_kind",
        "file_date",
        "received_at",
        "status",
        "effective_date",
        "termination_date",
        "benefit_code",
        "benefit_suffix",
    ):
        assertions[(key, row.pop(0))].append(Assertion(*row))
    for key, *row in ServiceDeliveryEvent.objects.filter(tenant_id=tenant_id).values_list(
        "payer_id", "member_id", "id", "service_date", "service_code", "received_at"
    ):
        services[(key, row.pop(0))].append(ServiceEvent(*row))
    overrides = {
        (o.payer_id, o.member_id, o.month): Override(o.pk, o.outcome, o.rate)
        for o in MemberMonthOverride.objects.filter(tenant_id=tenant_id, active=True, approved=True)
    }
    births = dict(Member.objects.filter(tenant_id=tenant_id).values_list("id", "birth_date"))

    def of(d: Decision) -> MemberFacts:
        key = (d.payer_id, d.member_id)
        return MemberFacts(
            member_id=d.member_id,
            birth_date=births[d.member_id],
            assertions=tuple(assertions[key]),
            services=tuple(services[key]),
            override=overrides.get((*key, d.month)),
        )

    return of


def _json(value):
    return json.loads(json.dumps(value))


@pytest.fixture
def scenario(world, owner):
    """2,000 members of ACME decided in a production AUG run, then SEP with late facts."""
    p = payer(owner, "ACME", **SCENARIO_PARAMS)
    tenant = world.tenant
    insert_rows_members = [
        (tenant.pk, f"L{n:05d}", "Ada", "Lovelace", BIRTH) for n in range(MEMBERS)
    ]
    with transaction.atomic():
        insert_rows(
            Member,
            ("tenant", "external_id", "first_name", "last_name", "birth_date"),
            insert_rows_members,
        )
    members = list(Member.objects.filter(tenant=tenant).order_by("external_id"))
    _facts(tenant, p, members, world.users[S.Role.OWNER])
    aug = run_month(owner, AUG, ["ACME"])
    _late_facts(tenant, p, members)
    sep = run_month(owner, SEP, ["ACME"])
    return aug, sep


def test_lean_replay_of_every_decision_gives_the_recorded_outcome(scenario):
    # given a 2,000-member scenario decided by two production runs (AUG, then SEP with retro)
    aug, sep = scenario
    assert {aug.status, sep.status} <= set(BillingRun.DONE)
    decisions = list(
        Decision.objects.filter(run__in=[aug, sep]).select_related("rule_version", "run")
    )
    # then every class of decision is there, each stored with its facts as ids
    assert set(Counter(d.decision_class for d in decisions)) == set(DecisionClass)
    assert all(inputs_is_lean(d.inputs) for d in decisions if d.inputs["assertions"])
    db_facts, engines = _db_facts(aug.tenant_id), {}
    for d in decisions:
        inputs = inputs_expand(d.inputs, d.tenant_id)
        cutoff = d.run.evidence_cutoff
        rules = engines.setdefault(d.rule_version_id, engine_rules(d.rule_version))
        # when it is replayed against its recorded inputs under its own rule version
        again = evaluate(facts_from_inputs(inputs, d.member_id), rules, d.month, cutoff)
        # and evaluated afresh from the fact tables
        fresh = evaluate(db_facts(d), rules, d.month, cutoff)
        retro = inputs.get("retro")
        if retro:
            # then a retroactive decision's evaluation is the one it recorded
            assert (str(again.decision_class), str(again.amount if again.billable else "0.00")) == (
                retro["evaluated_class"],
                retro["new_amount"],
            ), d.pk
            assert _json(again.inputs) == {k: v for k, v in inputs.items() if k != "retro"}
            assert _json(fresh.inputs) == _json(again.inputs)
            continue
        # then class, amount, days and tier are identical
        assert (str(again.decision_class), again.amount, again.billable_days, again.tier) == (
            d.decision_class,
            d.amount,
            d.billable_days,
            d.tier,
        ), d.pk
        # and the expanded inputs are exactly what the engine records for these facts
        assert _json(again.inputs) == inputs, d.pk
        assert _json(fresh.inputs) == inputs, d.pk


def test_lean_inputs_are_smaller_than_full_rows():
    # given a member-month decided from six assertions and two services
    from tests.billing.engine_builders import assertion as fact
    from tests.billing.engine_builders import at, facts, rules
    from tests.billing.engine_builders import service as event

    six = [fact(100 + k, received_at=at(2026, 5, 1 + k)) for k in range(6)]
    evidence = facts(
        *six,
        services=[
            event(200, service_date=date(2026, 6, 3)),
            event(201, service_date=date(2026, 6, 9)),
        ],
    )
    full = evaluate(evidence, rules(), month(2026, 6), at(2026, 7, 1))
    lean = evaluate(evidence, rules(), month(2026, 6), at(2026, 7, 1), lean=True)
    # then the lean form records the ids in the order used, and nothing else changes
    assert lean.inputs == inputs_lean(full.inputs)
    assert lean.inputs["assertions"] == [100, 101, 102, 103, 104, 105]
    assert lean.inputs["services"] == [200, 201]
    # and its stored json is under 600 bytes, less than half of the full rows
    lean_bytes, full_bytes = len(json.dumps(lean.inputs)), len(json.dumps(full.inputs))
    assert lean_bytes < 600 < full_bytes
    assert lean_bytes * 2 < full_bytes


def test_full_rows_stored_before_the_change_read_as_they_are(world, owner):
    # given a decision stored with full assertion and service rows (before issue 16)
    rows = {"assertions": [[7, "FULL_FILE", "2026-05-20"]], "services": [[8, "2026-09-01"]]}
    # then reading it gives exactly what was stored, without a query
    assert inputs_expand(rows, world.tenant.pk) is rows
    # and the engine refuses to replay ids that were not expanded
    with pytest.raises(ValueError, match="expand them"):
        facts_from_inputs({"assertions": [7], "services": []})


def test_decision_screen_and_api_show_the_expanded_rows(world, owner, client):
    # given a run that decided one member from an assertion and a service
    p = payer(owner, "ACME", **SCENARIO_PARAMS)
    m = member(world.tenant, "M001")
    a = assertion(p, m)
    s = service(p, m, date(2026, 9, 3))
    run = run_month(owner, SEP, ["ACME"])
    d = Decision.objects.get(run=run)
    assert d.inputs["assertions"] == [a.pk] and d.inputs["services"] == [s.pk]
    # when the API reads the decision
    api = world.client(S.Role.OWNER)
    body = api.get(f"/api/billing/decisions/{d.pk}").json()
    # then it shows the full rows the engine recorded
    assert body["inputs"]["assertions"] == [
        [a.pk, "FULL_FILE", "2026-05-20", "2026-05-20T08:00:00+00:00", "ACTIVE", "2026-01-01"]
        + [None, "MED", ""]
    ]
    assert body["inputs"]["services"] == [
        [s.pk, "2026-09-03", "99213", "2026-05-20T08:00:00+00:00"]
    ]
    # and the screen lists the assertion and the service
    client.force_login(world.users[S.Role.OWNER])
    page = client.get(f"/billing/decisions/{d.pk}/").content.decode()
    assert "2026-05-20T08:00:00+00:00" in page or "2026-05-20 08:00" in page
    assert "99213" in page


def test_a_referenced_fact_row_cannot_be_changed_or_deleted(world, owner):
    # given a member decided in a run from one assertion and one service
    p = payer(owner, "ACME", **SCENARIO_PARAMS)
    m = member(world.tenant, "M001")
    a = assertion(p, m)
    s = service(p, m, date(2026, 9, 3))
    run_month(owner, SEP, ["ACME"])
    # when someone changes or deletes them through the ORM
    # then the database refuses, naming the table and the operation
    for attempt in (
        lambda: EligibilityAssertion.objects.filter(pk=a.pk).update(status="CANCELLED"),
        lambda: EligibilityAssertion.objects.filter(pk=a.pk).delete(),
        lambda: ServiceDeliveryEvent.objects.filter(pk=s.pk).update(service_code="11111"),
        lambda: s.delete(),
    ):
        with pytest.raises(IntegrityError, match="recorded in decisions"), transaction.atomic():
            attempt()
    # and the rows are as they were
    a.refresh_from_db()
    s.refresh_from_db()
    assert (a.status, s.service_code) == ("ACTIVE", "99213")


def test_the_admin_offers_no_delete_of_fact_rows(world, owner, client):
    # given a decided assertion and service, and a superuser in the admin
    from django.contrib.auth import get_user_model

    p = payer(owner, "ACME", **SCENARIO_PARAMS)
    m = member(world.tenant, "M001")
    a = assertion(p, m)
    s = service(p, m, date(2026, 9, 3))
    run_month(owner, SEP, ["ACME"])
    root = get_user_model().objects.create_superuser(username="root", password="x-Pass-12345!")
    client.force_login(root)
    # when the superuser asks to delete either: refused with 403, never a database error (500)
    for path in (
        f"/admin/billing/eligibilityassertion/{a.pk}/delete/",
        f"/admin/billing/servicedeliveryevent/{s.pk}/delete/",
    ):
        assert client.post(path, {"post": "yes"}).status_code == 403
    # and the bulk delete action is not offered on the list
    listing = client.get("/admin/billing/eligibilityassertion/").content.decode()
    assert "delete_selected" not in listing
    # and both rows are still there
    assert EligibilityAssertion.objects.filter(pk=a.pk).exists()
    assert ServiceDeliveryEvent.objects.filter(pk=s.pk).exists()


def test_an_unreferenced_fact_row_may_still_be_corrected(world, owner):
    # given an assertion of a member no decision has been made for yet
    p = payer(owner, "ACME")
    a = assertion(p, member(world.tenant, "M001"))
    # when it is corrected, then deleted, then it is gone
    EligibilityAssertion.objects.filter(pk=a.pk).update(status="PENDING")
    a.delete()
    assert not EligibilityAssertion.objects.filter(pk=a.pk).exists()


def test_finalise_fails_a_run_whose_decisions_reference_missing_rows(world, owner):
    # given a running run whose chunks are done, one decision naming a member that is not there
    p = payer(owner, "ACME")
    m = member(world.tenant, "M001")
    assertion(p, m)
    run = billing_run_trigger(actor=owner, month=SEP, payers=["ACME"], enqueue=False)
    BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.RUNNING)
    RunChunk.objects.filter(run=run).delete()
    rv = p.rule_versions.get()
    with transaction.atomic():
        insert_rows(
            Decision,
            DECISION_FIELDS,
            [
                (world.tenant.pk, run.pk, p.pk, m.pk, SEP, "BILLED_ACTIVE", True, 30)
                + (Decimal("310.00"), rv.pk, "MED 0-64", {}),
                (world.tenant.pk, run.pk, p.pk, m.pk + 999, SEP, "BILLED_ACTIVE", True, 30)
                + (Decimal("310.00"), rv.pk, "MED 0-64", {}),
            ],
        )
    # when the run finalises
    done = billing_run_finalize(run_id=run.pk)
    # then it fails with the reason, and its payer is free for another run
    assert done.status == BillingRun.Status.FAILED
    assert done.failure == "decisions reference rows that do not exist: 1 by member"
    assert not done.run_payers.filter(active=True).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_decision_table_has_no_foreign_keys_and_only_the_listed_indexes(db):
    # the per-row foreign-key checks are what the finalise check replaces
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "billing_decision")
    assert not [c for c in constraints.values() if c["foreign_key"]]
    assert len([c for c in constraints.values() if c["index"] or c["unique"]]) == 7
