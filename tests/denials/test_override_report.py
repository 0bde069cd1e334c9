"""Override-rate reporting (issue 14 item 6): the figures equal counts taken directly from the
audit trail and the tables; requesters, payers, grants, CSV, API, screen and dashboard panel.

Force-matches go through the real service (one under dual control); the other kinds' entries are
written with core.audit.audit_record under the CONTRACT's action names and payloads, since their
services come from other parts of issue 14.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from guardian.shortcuts import assign_perm

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import ScopeDenied
from core.models import AuditEntry
from core.overrides import override_request_approve
from core.services import tenant_policy_update
from denials.models import CobOverride, CorrectionAttempt, Coverage, Denial, RemittanceClaim
from denials.reporting_overrides import DENIAL_CHANGES
from denials.services.override_report import override_report, rate_of
from denials.services.receivables import remittance_claim_force_match
from denials.services.reporting import reporting_views_refresh
from tests.denials.rec_builders import claim, member, payer, remit_claim, remittance, waiting_line

NOW = timezone.now()
MONTH = NOW.date().replace(day=1)
LAST = (MONTH - timedelta(days=1)).replace(day=1)
MATCHED = (RemittanceClaim.MatchState.MATCHED_AUTO, RemittanceClaim.MatchState.MATCHED_FORCED)
MANAGER, ADMIN, OPS, OWNER = (
    "alpha-billing_manager",
    "alpha-admin",
    "alpha-operations",
    "alpha-owner",
)


def _force(world, role, code: str):
    scene = waiting_line(world.tenant, code=code)
    return remittance_claim_force_match(
        actor=world.actor(role),
        remittance_claim_id=scene["line"].pk,
        claim_id=scene["claims"][0].pk,
        reason="member id typo",
    )


def _auto(tenant, p, *, at=None):
    m = member(tenant, f"AU{RemittanceClaim.objects.count()}")
    c = claim(tenant, p, m)
    r = remittance(tenant, p)
    return remit_claim(
        r,
        pcn=c.number,
        member_code=m.external_id,
        state=RemittanceClaim.MatchState.MATCHED_AUTO,
        matched=c,
        at=at,
    )


def _denial(tenant, p) -> Denial:
    m = member(tenant, f"DN{Denial.objects.count()}")
    c = claim(tenant, p, m)
    rc = remit_claim(remittance(tenant, p), pcn=c.number, member_code=m.external_id)
    return Denial.objects.create(
        tenant=tenant, claim=c, remittance_claim=rc, group_code="CO", carc="197", amount="40.00"
    )


def _entry(world, role, action, obj, payer_code, requested_by=None, approved_by=None, **extra):
    actor = Actor.system_for(world.tenant) if role is None else world.actor(role)
    payload = {"payer": payer_code, "requested_by": requested_by, "approved_by": approved_by}
    audit_record(
        tenant=world.tenant,
        actor=actor,
        action=action,
        obj=obj,
        reason="r",
        payload=payload | extra,
    )


@pytest.fixture
def scene(world):
    """Overrides of every kind on payers ACME and ZEN this month, and their volumes."""
    t = world.tenant
    acme, zen = payer(t, "ACME"), payer(t, "ZEN")
    # forced matches: two on ACME asked by the manager (one approved by the owner), one on ZEN
    _force(world, S.Role.BILLING_MANAGER, "ACME")
    _force(world, S.Role.ADMIN, "ZEN")
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_RECEIVABLE_OVERRIDE]
    )
    filed = _force(world, S.Role.BILLING_MANAGER, "ACME")
    override_request_approve(actor=world.actor(S.Role.OWNER), request_id=filed.pk)
    tenant_policy_update(actor=world.actor(S.Role.OWNER), dual_control_scopes=[])
    # automatic matches: two on ACME this month, one on ZEN last month
    _auto(t, acme)
    _auto(t, acme)
    _auto(t, zen, at=NOW.replace(day=1) - timedelta(days=3))
    # denials and their state changes
    d1, d2, d3 = _denial(t, acme), _denial(t, acme), _denial(t, zen)
    _entry(world, S.Role.OPERATIONS, "DENIAL_WORKED", d1, "ACME")
    _entry(world, S.Role.OPERATIONS, "DENIAL_ASSIGNED", d1, "ACME")  # not a state change
    _entry(world, S.Role.BILLING_MANAGER, "DENIAL_WRITTEN_OFF", d1, "ACME")
    _entry(world, S.Role.BILLING_MANAGER, "DENIAL_WRITTEN_OFF", d2, "ACME")
    _entry(world, S.Role.ADMIN, "DENIAL_WRITTEN_OFF", d3, "ZEN")
    _entry(world, S.Role.ADMIN, "DENIAL_REOPENED", d1, "ACME", MANAGER, ADMIN)
    _entry(world, S.Role.ADMIN, "MANUAL_FLIP", d2, "ACME", OPS, ADMIN, to="RESOLVED")
    _entry(world, None, "DENIAL_RESOLVED_BY_REVERSAL", d3, "ZEN")  # the system, not a person
    # correction attempts: three on ACME's denial, one on ZEN's; one force-retry on ACME's
    for i, (d, forced) in enumerate([(d1, False), (d1, False), (d1, True), (d3, False)]):
        CorrectionAttempt.objects.create(
            tenant=t,
            denial=d,
            handler="auth",
            fingerprint=f"f{i}",
            outcome="SKIPPED",
            forced=forced,
        )
    _entry(world, S.Role.OWNER, "CORRECTION_FORCE_RETRIED", d1, "ACME", OWNER, attempt=3)
    # coverages: member A ACME then ZEN (both in force), B one, C's first ended years ago
    a, b, c = member(t, "COB-A"), member(t, "COB-B"), member(t, "COB-C")
    for m, p, start, end in [
        (a, acme, date(2020, 1, 1), None),
        (a, zen, date(2023, 1, 1), None),
        (b, acme, date(2020, 1, 1), None),
        (c, acme, date(2019, 1, 1), date(2020, 12, 31)),
        (c, zen, date(2021, 1, 1), None),
    ]:
        Coverage.objects.create(
            tenant=t, member=m, payer=p, kind="COMMERCIAL", effective=start, termination=end
        )
    cob = CobOverride.objects.create(tenant=t, member=a, ordering=["ZEN", "ACME"], reason="r")
    _entry(world, S.Role.OWNER, "COB_OVERRIDE_SET", cob, "ZEN", OWNER, member=a.pk)
    reporting_views_refresh()
    return {"acme": acme, "zen": zen, "denials": (d1, d2, d3)}


# --- what the test counts itself, straight from the trail and the tables ----------------------


def _denial_payer(entry: AuditEntry) -> str:
    return Denial.objects.get(pk=entry.object_id).claim.payer.code


def _expected(tenant, month: date) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, payer) -> (overrides, volume) for a month, counted without the reporting view."""
    entries = AuditEntry.objects.filter(tenant=tenant, at__year=month.year, at__month=month.month)
    over: Counter = Counter()
    vol: Counter = Counter()
    for e in entries.filter(action="REMITTANCE_CLAIM_FORCE_MATCHED"):
        over["force_match", RemittanceClaim.objects.get(pk=e.object_id).remittance.payer.code] += 1
    for rc in RemittanceClaim.objects.filter(
        tenant=tenant, match_state__in=MATCHED, matched_at__year=month.year
    ).filter(matched_at__month=month.month):
        vol["force_match", rc.remittance.payer.code] += 1
    for kind, action in [
        ("force_retry", "CORRECTION_FORCE_RETRIED"),
        ("manual_flip", "MANUAL_FLIP"),
        ("reopen", "DENIAL_REOPENED"),
    ]:
        for e in entries.filter(action=action):
            over[kind, _denial_payer(e)] += 1
    for ca in CorrectionAttempt.objects.filter(tenant=tenant, created_at__year=month.year).filter(
        created_at__month=month.month
    ):
        vol["force_retry", ca.denial.claim.payer.code] += 1
    for e in entries.filter(action__in=DENIAL_CHANGES, actor__isnull=False):
        vol["manual_flip", _denial_payer(e)] += 1
    for e in entries.filter(action="DENIAL_WRITTEN_OFF"):
        vol["reopen", _denial_payer(e)] += 1
    for e in entries.filter(action="COB_OVERRIDE_SET"):
        over["cob_override", e.payload["payer"]] += 1
    # members with two or more coverages in force in the month, under their earliest one's payer
    month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    in_force = [
        cv
        for cv in Coverage.objects.filter(tenant=tenant).order_by("effective", "id")
        if cv.effective <= month_end and (cv.termination is None or cv.termination >= month)
    ]
    by_member: dict = {}
    for cv in in_force:
        by_member.setdefault(cv.member_id, []).append(cv)
    for covs in by_member.values():
        if len({cv.payer_id for cv in covs}) >= 2:
            vol["cob_override", covs[0].payer.code] += 1
    return {k: (over[k], vol[k]) for k in set(over) | set(vol)}


# --- the figures ---------------------------------------------------------------------------------


def test_per_payer_figures_equal_the_counts_taken_directly(world, scene):
    report = override_report(world.actor(S.Role.OWNER), month_from=MONTH, month_to=MONTH)
    got = {(r.kind, r.payer): (r.overrides, r.volume) for r in report.by_payer}
    expected = _expected(world.tenant, MONTH)
    assert got == expected
    # the worked numbers, so a broken count in both places still fails
    assert expected[("force_match", "ACME")] == (2, 4)
    assert expected[("force_match", "ZEN")] == (1, 1)
    assert expected[("manual_flip", "ACME")] == (1, 5)  # worked, 2 write-offs, reopen, flip
    assert expected[("manual_flip", "ZEN")] == (0, 1)  # its write-off; the reversal is the system's
    assert expected[("reopen", "ACME")] == (1, 2)
    assert expected[("force_retry", "ACME")] == (1, 3)
    assert expected[("cob_override", "ZEN")] == (1, 0)
    assert expected[("cob_override", "ACME")] == (0, 1)


def test_rates_and_month_totals(world, scene):
    report = override_report(world.actor(S.Role.OWNER), month_from=MONTH, month_to=MONTH)
    by_payer = {(r.kind, r.payer): r for r in report.by_payer}
    assert by_payer["force_match", "ACME"].rate == Decimal("0.5000")
    assert by_payer["reopen", "ACME"].rate_text == "50.0 %"
    # no volume: no rate, shown as a dash
    assert by_payer["cob_override", "ZEN"].rate is None
    assert by_payer["cob_override", "ZEN"].rate_text == "—"
    totals = {r.kind: (r.overrides, r.volume, r.rate) for r in report.totals}
    assert totals["force_match"] == (3, 5, Decimal("0.6000"))
    assert totals["cob_override"] == (1, 1, Decimal("1.0000"))
    assert totals["manual_flip"] == (1, 6, rate_of(1, 6))
    assert rate_of(1, 6) == Decimal("0.1667")


def test_per_user_counts_the_requester_even_when_a_second_person_approved(world, scene):
    report = override_report(world.actor(S.Role.OWNER), month_from=MONTH, month_to=MONTH)
    users = {(r.kind, r.user): (r.overrides, r.volume) for r in report.by_user}
    # the owner approved one of the manager's force-matches: it counts for the manager
    assert users[("force_match", MANAGER)] == (2, 5)
    assert users[("force_match", ADMIN)] == (1, 5)
    assert ("force_match", OWNER) not in users
    assert users[("reopen", MANAGER)] == (1, 3)
    assert users[("manual_flip", OPS)] == (1, 6)
    direct = Counter(
        e.payload.get("requested_by") or e.actor_label
        for e in AuditEntry.objects.filter(action="REMITTANCE_CLAIM_FORCE_MATCHED")
    )
    assert direct == {MANAGER: 2, ADMIN: 1}
    detail = {(r.kind, r.user, r.payer): (r.overrides, r.volume) for r in report.rows}
    assert detail[("force_match", MANAGER, "ACME")] == (2, 4)
    assert detail[("force_match", ADMIN, "ZEN")] == (1, 1)


def test_a_month_with_volume_and_no_override_has_a_zero_rate(world, scene):
    report = override_report(world.actor(S.Role.OWNER), month_from=LAST, month_to=LAST)
    totals = {(r.kind, r.payer): (r.overrides, r.volume, r.rate) for r in report.by_payer}
    assert totals[("force_match", "ZEN")] == (0, 1, Decimal("0.0000"))
    assert _expected(world.tenant, LAST)[("force_match", "ZEN")] == (0, 1)


def test_filters_by_kind_payer_and_user(world, scene):
    owner = world.actor(S.Role.OWNER)
    only = override_report(owner, month_from=MONTH, kind="reopen")
    assert {r.kind for r in only.totals + only.by_payer + only.by_user} == {"reopen"}
    zen = override_report(owner, month_from=MONTH, payer="zen")
    assert {r.payer for r in zen.by_payer} == {"ZEN"}
    assert {(r.kind, r.overrides, r.volume) for r in zen.totals if r.kind == "force_match"} == {
        ("force_match", 1, 1)
    }
    ops = override_report(owner, month_from=MONTH, user=OPS)
    assert [(r.kind, r.user, r.overrides) for r in ops.by_user] == [("manual_flip", OPS, 1)]
    assert [(r.kind, r.overrides, r.volume) for r in ops.totals] == [("manual_flip", 1, 6)]


def test_payer_grants_narrow_the_report(world, scene):
    viewer = world.users[S.Role.BILLING_MANAGER]
    assign_perm("billing.view_payer", viewer, scene["acme"])
    report = override_report(Actor(tenant=world.tenant, user=viewer), month_from=MONTH)
    assert {r.payer for r in report.by_payer + report.rows} == {"ACME"}
    totals = {r.kind: (r.overrides, r.volume) for r in report.totals}
    assert totals["force_match"] == (2, 4)
    assert "cob_override" not in {r.kind for r in report.rows}


def test_reading_needs_audit_read(world, scene):
    with pytest.raises(ScopeDenied):
        override_report(world.actor(S.Role.OPERATIONS))


def test_another_tenants_figures_are_not_shown(world, scene):
    report = override_report(Actor(tenant=world.other_tenant, user=world.outsider))
    assert (report.rows, report.by_payer, report.totals) == ([], [], [])


def test_figures_change_only_with_the_next_refresh(world, scene):
    owner = world.actor(S.Role.OWNER)
    d1 = scene["denials"][0]
    _entry(world, S.Role.ADMIN, "MANUAL_FLIP", d1, "ACME", OPS, ADMIN)
    before = {r.kind: r.overrides for r in override_report(owner, month_from=MONTH).totals}
    assert before["manual_flip"] == 1
    assert reporting_views_refresh()["override_rows"] > 0
    after = {r.kind: r.overrides for r in override_report(owner, month_from=MONTH).totals}
    assert after["manual_flip"] == 2


# --- CSV, API, screen, dashboard ----------------------------------------------------------------


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_export_has_payer_rows_then_their_users(world, scene):
    m = f"{MONTH:%Y-%m}"
    response = world.client(S.Role.OWNER).get(
        f"/claims/overrides/report.csv?month_from={m}&month_to={m}&kind=force_match"
    )
    assert response.status_code == 200
    rows = [(r["payer"], r["user"], r["overrides"], r["volume"], r["rate"]) for r in _csv(response)]
    assert rows == [
        ("ACME", "", "2", "4", "0.5000"),
        ("ACME", MANAGER, "2", "4", "0.5000"),
        ("ZEN", "", "1", "1", "1.0000"),
        ("ZEN", ADMIN, "1", "1", "1.0000"),
    ]
    assert AuditEntry.objects.filter(action="EXPORT_DOWNLOADED").exists()
    bad = world.client(S.Role.OWNER).get("/claims/overrides/report.csv?month_from=2026-13")
    assert bad.status_code == 400


def test_api_report_and_csv(world, scene):
    m = f"{MONTH:%Y-%m}"
    client = world.client(S.Role.OWNER)
    body = client.get(f"/api/reports/overrides?month_from={m}&month_to={m}").json()
    assert body["refreshed_at"]
    totals = {t["kind"]: t for t in body["totals"]}
    assert totals["force_match"] == {
        "month": m,
        "kind": "force_match",
        "overrides": 3,
        "volume": 5,
        "rate": "0.6000",
    }
    cob = {(p["kind"], p["payer"]): p for p in body["by_payer"]}[("cob_override", "ZEN")]
    assert (cob["overrides"], cob["volume"], cob["rate"]) == (1, 0, None)
    assert {u["user"] for u in body["by_user"] if u["kind"] == "force_match"} == {MANAGER, ADMIN}
    csv_rows = _csv(client.get(f"/api/reports/overrides.csv?month_from={m}&kind=reopen"))
    assert [(r["payer"], r["user"], r["overrides"], r["volume"]) for r in csv_rows] == [
        ("ACME", "", "1", "2"),
        ("ACME", MANAGER, "1", "2"),
        ("ZEN", "", "0", "1"),
    ]


@pytest.mark.parametrize(
    "query", ["month_from=2026-13", "kind=bogus", "month_from=2026-05&month_to=2026-04"]
)
def test_api_refuses_bad_filters(world, scene, query):
    response = world.client(S.Role.OWNER).get(f"/api/reports/overrides?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_api_needs_audit_read(world, scene):
    assert world.client(S.Role.OPERATIONS).get("/api/reports/overrides").status_code == 403


def test_screen_shows_rates_and_links_each_row_to_its_audit_entries(world, scene):
    client = world.client(S.Role.OWNER)
    m = f"{MONTH:%Y-%m}"
    html = client.get(f"/claims/overrides/report/?month_from={m}").content.decode()
    assert 'id="override-kind-chart"' in html
    assert "Figures as of the last refresh" in html
    row = html.split(f'data-month="{m}" data-kind="force_match" data-user="{MANAGER}"')[1]
    row = row.split("</tr>")[0]
    assert "40.0 %" in row  # their share: 2 of the month's 5 matched payments
    link = row.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert link == f"/audit/?action=REMITTANCE_CLAIM_FORCE_MATCHED&month={m}&user={MANAGER}"
    # the link shows exactly the entries counted: one written by the approver, in the manager's name
    audit = client.get(link).content.decode()
    assert audit.count("<tr><td>") == 2
    assert "alpha-owner" in audit.split("<tbody>")[1]
    cob_row = html.split('data-kind="cob_override" data-payer="ZEN"')[1].split("</tr>")[0]
    assert "—" in cob_row
    assert 'href="/claims/receivables/report/"' in html


def test_screen_refuses_a_bad_month_with_a_message(world, scene):
    response = world.client(S.Role.OWNER).get("/claims/overrides/report/?month_from=June")
    assert response.status_code == 400
    assert "YYYY-MM" in response.content.decode()


def test_dashboard_panel_for_audit_readers(world, scene):
    html = world.client(S.Role.OWNER).get("/").content.decode()
    assert f"Overrides in {MONTH:%B %Y}" in html
    assert "forced matches (60.0 %)" in html
    assert "Overrides in" not in world.client(S.Role.OPERATIONS).get("/").content.decode()
