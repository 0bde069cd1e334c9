"""Billing staff screens (SPEC 4 Runs, SPEC 9): who sees which control, the trigger form, live
progress, the run tabs, replay, rule versions and overrides, through Django's test client."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from billing.engine.months import add_months
from billing.models import (
    AuditPackage,
    BillingRun,
    Decision,
    EligibilityAssertion,
    MemberMonthOverride,
    RuleVersion,
    RunException,
)
from billing.services.exports import ROSTER_COLUMNS
from billing.services.runs import billing_run_execute
from core import scopes as S
from core.models import AuditEntry, OverrideRequest
from core.services import tenant_policy_update
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb

R = S.Role
MANAGERS = {R.OWNER, R.ADMIN, R.BILLING_MANAGER}  # billing.run.trigger, rules, overrides (SPEC 2)
WORKERS = MANAGERS | {R.OPERATIONS}  # billing.exception.resolve, billing.decision.replay
ALL_ROLES = [r.value for r in R]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def scene(world) -> sb.Scenario:
    return sb.scenario(world.tenant)


def _client(world, role: str) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _messages(response) -> list[tuple[str, str]]:
    """(level, text) of the flash messages shown on a page."""
    found = re.findall(r'<li class="msg-(\w+)" role="status">(.*?)</li>', response.content.decode())
    return [(level, html.unescape(text)) for level, text in found]


def _decision_rows(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr id="decision-(\d+)">', response.content.decode())}


def _forbidden(response) -> bool:
    return response.status_code == 403 and "Not allowed" in response.content.decode()


# --- scope gating ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_screens_show_each_control_only_to_roles_holding_its_scope(world, scene, role):
    # given a completed production run (with an open exception), a queued run, and rules
    # with an ACTIVE and a DRAFT version
    queued = b.trigger(world.tenant, [b.billed_payer(world.tenant)])
    c = _client(world, role)
    manager, worker = role in MANAGERS, role in WORKERS

    # the trigger form
    page = c.get("/billing/")
    assert page.status_code == 200
    assert ('id="trigger-form"' in page.content.decode()) is manager

    # regenerate on a completed production run, cancel on a queued one
    page = c.get(f"/billing/runs/{scene.run.pk}/")
    assert page.status_code == 200
    assert (f'action="/billing/runs/{scene.run.pk}/regenerate/"' in _text(page)) is manager
    assert ("Regenerate this run" in _text(page)) is manager
    page = c.get(f"/billing/runs/{queued.pk}/")
    assert 'id="run-progress"' in _text(page)
    assert ('id="cancel-run"' in _text(page)) is manager
    assert (f'action="/billing/runs/{queued.pk}/cancel/"' in _text(page)) is manager

    # activate and retire on the rule versions screen
    page = _text(c.get("/billing/rules/"))
    assert f"<h2>{scene.payer.code}</h2>" in page
    assert ('value="activate"' in page) is manager
    assert ('value="retire"' in page) is manager

    # the override form
    page = _text(c.get("/billing/overrides/"))
    assert "Member-month overrides" in page
    assert ('id="override-form"' in page) is manager

    # the resolve form on the exceptions tab
    page = _text(c.get(f"/billing/runs/{scene.run.pk}/?tab=exceptions"))
    assert f'id="exception-{scene.exception.pk}"' in page
    resolve = f'action="/billing/exceptions/{scene.exception.pk}/resolve/"'
    assert (resolve in page) is worker

    # the Replay button in a decision's inputs
    d = scene.decision(scene.active)
    page = _text(c.get(f"/billing/decisions/{d.pk}/", **HX))
    assert f'id="decision-inputs-{d.pk}"' in page
    assert (">Replay</button>" in page) is worker
    assert (f'hx-post="/billing/decisions/{d.pk}/replay/"' in page) is worker


@pytest.mark.parametrize("role", [R.OPERATIONS, R.VIEWER])
def test_posts_of_manager_actions_are_refused_to_operations_and_viewer(world, scene, role):
    c = _client(world, role)
    queued = b.trigger(world.tenant, [b.billed_payer(world.tenant)])
    fresh = b.payer_with_rules(world.tenant)
    runs_before = BillingRun.objects.count()

    # trigger, regenerate, cancel
    r = c.post("/billing/", {"month": sb.MONTH_TEXT, "payers": [fresh.code], "mode": "SIMULATION"})
    assert _forbidden(r)
    assert "billing.run.trigger" in r.content.decode()
    r = c.post(
        f"/billing/runs/{scene.run.pk}/regenerate/", {"reason_kind": "corrected eligibility"}
    )
    assert _forbidden(r)
    assert BillingRun.objects.count() == runs_before
    assert _forbidden(c.post(f"/billing/runs/{queued.pk}/cancel/", {"reason": "no"}))
    queued.refresh_from_db()
    assert queued.status == BillingRun.Status.QUEUED

    # activate a draft, retire the active version
    active = RuleVersion.objects.get(payer=scene.payer, version="v1")
    r = c.post("/billing/rules/", {"rule_version": scene.draft.pk, "action": "activate"})
    assert _forbidden(r)
    r = c.post("/billing/rules/", {"rule_version": active.pk, "action": "retire"})
    assert _forbidden(r)
    scene.draft.refresh_from_db()
    active.refresh_from_db()
    assert (scene.draft.status, active.status) == ("DRAFT", "ACTIVE")

    # create an override
    r = c.post(
        "/billing/overrides/",
        {
            "payer": scene.payer.code,
            "member": scene.active.external_id,
            "month": sb.MONTH_TEXT,
            "outcome": "NOT_BILLABLE",
            "reason": "moved abroad",
        },
    )
    assert _forbidden(r)
    assert not MemberMonthOverride.objects.exists()


def test_viewer_may_neither_resolve_nor_replay(world, scene):
    c = _client(world, R.VIEWER)
    d = scene.decision(scene.active)

    r = c.post(f"/billing/exceptions/{scene.exception.pk}/resolve/", {"resolution": "done"})
    assert _forbidden(r)
    r = c.post(f"/billing/decisions/{d.pk}/replay/", {"rule_version": "v2"}, **HX)
    assert _forbidden(r)

    scene.exception.refresh_from_db()
    assert scene.exception.status == RunException.Status.OPEN
    assert not AuditEntry.objects.filter(action="DECISION_REPLAYED").exists()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_nav_shows_billing_to_every_role(world, role):
    page = _client(world, role).get("/")
    assert page.status_code == 200
    nav = re.search(r'<nav class="mainnav".*?</nav>', page.content.decode(), re.S).group(0)
    assert re.search(r'<a href="/billing/"[^>]*>Billing</a>', nav)


# --- trigger -----------------------------------------------------------------------------


def test_trigger_form_runs_the_month_and_refuses_a_second_production_run(
    world, django_capture_on_commit_callbacks
):
    # given a payer with two billable members in 2026-10
    p = b.billed_payer(world.tenant, members=2)
    c = _client(world, R.BILLING_MANAGER)
    form = {"month": sb.MONTH_TEXT, "payers": [p.code], "mode": "PRODUCTION"}

    # when a billing manager triggers a production run from the form (its on_commit enqueue
    # runs the run inside the request: Q_SYNC)
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/billing/", form)

    # then the response redirects to the run's page, and the run completed
    run = BillingRun.objects.get(run_payers__payer=p)
    assert r.status_code == 302
    assert r["Location"] == f"/billing/runs/{run.pk}/"
    assert (run.status, run.mode, run.month) == ("COMPLETED", "PRODUCTION", sb.MONTH)
    assert run.triggered_by == world.users[R.BILLING_MANAGER]
    assert run.decisions_count == 2
    page = c.get(r["Location"])
    assert ("success", f"Run #{run.pk} queued: production 2026-10.") in _messages(page)
    assert 'data-status="COMPLETED"' in _text(page)

    # when the same month is triggered again in production
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/billing/", form)

    # then it is refused with a clear message beside the payers, the form keeps what was
    # chosen (month, payer, production), and nothing was created
    assert r.status_code == 409
    body = _text(r)
    assert (
        f'<p class="error field-error" id="error-payers">2026-10 already has completed run '
        f"#{run.pk} for payer {p.code}; regenerate that run instead.</p>"
    ) in body
    assert f'name="month" value="{sb.MONTH_TEXT}"' in body
    assert f'name="payers" value="{p.code}" checked' in body
    assert 'name="mode" value="PRODUCTION" checked' in body
    assert BillingRun.objects.filter(run_payers__payer=p).count() == 1


def test_trigger_form_refuses_a_future_month(world):
    p = b.billed_payer(world.tenant)
    c = _client(world, R.BILLING_MANAGER)
    future = f"{add_months(timezone.localdate().replace(day=1), 1):%Y-%m}"  # 2026-12

    r = c.post("/billing/", {"month": future, "payers": [p.code], "mode": "SIMULATION"})

    # the form comes back as typed, the error beside the month
    assert r.status_code == 400
    body = _text(r)
    assert (
        f'<p class="error field-error" id="error-month">{future} is in the future; '
        "bill the current month or earlier.</p>"
    ) in body
    assert f'name="month" value="{future}"' in body
    assert f'name="payers" value="{p.code}" checked' in body
    assert not BillingRun.objects.exists()


def test_trigger_form_offers_this_month_at_most(world):
    this = f"{timezone.localdate():%Y-%m}"  # 2026-11
    page = _text(_client(world, R.BILLING_MANAGER).get("/billing/"))
    assert f'name="month" value="{this}" max="{this}"' in page


def test_trigger_form_all_payers_runs_every_active_payer(world):
    one, two = b.billed_payer(world.tenant), b.billed_payer(world.tenant)
    b.payer(world.tenant, active=False)
    c = _client(world, R.BILLING_MANAGER)

    r = c.post("/billing/", {"month": sb.MONTH_TEXT, "all_payers": "1", "mode": "SIMULATION"})

    run = BillingRun.objects.get()
    assert r["Location"] == f"/billing/runs/{run.pk}/"
    assert set(run.payers.values_list("code", flat=True)) == {one.code, two.code}
    assert run.mode == "SIMULATION"


# --- live progress -----------------------------------------------------------------------


def test_progress_polls_while_queued_and_refreshes_once_completed(world):
    # given a queued run (nothing enqueued)
    p = b.billed_payer(world.tenant, members=3)
    run = b.trigger(world.tenant, [p])
    c = _client(world, R.VIEWER)
    url = f"/billing/runs/{run.pk}/progress/"

    # then its progress partial polls every second and says "queued"
    r = c.get(url)
    body = _text(r)
    assert r.status_code == 200
    assert "<html" not in body
    assert 'hx-trigger="every 1s"' in body
    assert f'hx-get="{url}?was=active"' in body
    assert re.search(r'data-status="QUEUED">Queued</span>', body)
    # and its progress is unknown, not full: an indeterminate bar, waiting for a worker
    assert "0 of 0 members" not in body
    assert "waiting for a worker" in body
    bar = re.search(r"<progress[^>]*>", body).group(0)
    assert "value=" not in bar
    assert "HX-Refresh" not in c.get(f"{url}?was=active", **HX)  # still active: no reload

    # when the run is executed
    billing_run_execute(run_id=run.pk)

    # then the partial stops polling and says "completed"
    body = _text(c.get(url))
    assert "hx-trigger" not in body and "hx-get" not in body
    assert re.search(r'data-status="COMPLETED">Completed</span>', body)
    assert "3 of 3 members · 3 decisions · 0 open exceptions" in body
    assert 'value="100"' in body
    # the page that was polling reloads once to show the results
    r = c.get(f"{url}?was=active", **HX)
    assert r["HX-Refresh"] == "true"
    assert "HX-Refresh" not in c.get(f"{url}?was=active")  # not an HTMX request
    assert "HX-Refresh" not in c.get(url, **HX)  # loaded after completion: nothing to refresh


def test_runs_rows_poll_only_while_a_run_is_active(world):
    p = b.billed_payer(world.tenant)
    c = _client(world, R.OPERATIONS)
    assert "hx-trigger" not in _text(c.get("/billing/rows/"))

    run = b.trigger(world.tenant, [p])
    rows = _text(c.get("/billing/rows/"))
    assert 'hx-trigger="every 2s"' in rows and 'hx-get="/billing/rows/?"' in rows
    assert f'<tr id="run-{run.pk}">' in rows and 'data-status="QUEUED"' in rows
    assert 'hx-trigger="every 2s"' in _text(c.get("/billing/"))  # the list page embeds them

    billing_run_execute(run_id=run.pk)
    rows = _text(c.get("/billing/rows/"))
    assert "hx-trigger" not in rows
    assert f'<tr id="run-{run.pk}">' in rows and 'data-status="COMPLETED"' in rows


# --- run tabs ----------------------------------------------------------------------------


def test_summary_tab_shows_totals_and_one_bar_per_class(world, scene):
    page = _text(_client(world, R.VIEWER).get(f"/billing/runs/{scene.run.pk}/"))

    # 6 members; billable: two active and one other at 412.50, one terminated on 10-15:
    # 412.50 x 15 / 31 = 199.60; total 3 x 412.50 + 199.60 = 1437.10
    assert 'id="s-members">6<' in page
    assert 'id="s-billable">4<' in page
    assert 'id="s-total">$1,437.10<' in page
    assert scene.run.summary["total_charge"] == "1437.10"

    chart = re.search(r'<svg[^>]*aria-label="Decisions per class">.*?</svg>', page, re.S).group(0)
    assert chart.count("<rect") == 4
    # classes and amounts as people read them, written next to each bar (no hovering needed)
    assert re.findall(r'<g data-key="(\w+)">', chart) == [
        "BILLED_ACTIVE",
        "BILLED_PARTIAL_TERM",
        "NOT_BILLED_NO_SERVICE",
        "NOT_BILLED_PENDING",
    ]
    assert ">Billed: active</text>" in chart and ">Not billed: no service</text>" in chart
    assert 'class="bar-value">3 · $1,237.50</text>' in chart
    assert 'class="bar-value">1 · $199.60</text>' in chart


def test_decisions_tab_filters_by_class_payer_and_member(world, scene):
    c = _client(world, R.VIEWER)
    tab = f"/billing/runs/{scene.run.pk}/?tab=decisions"
    d = scene.decision

    everything = c.get(tab)
    assert _decision_rows(everything) == set(
        Decision.objects.filter(run=scene.run).values_list("id", flat=True)
    )
    assert len(_decision_rows(everything)) == 6

    active = c.get(f"{tab}&decision_class=BILLED_ACTIVE")
    assert _decision_rows(active) == {
        d(scene.active).pk,
        d(scene.active_too).pk,
        d(scene.other_member).pk,
    }
    assert '<option value="BILLED_ACTIVE" selected>Billed: active</option>' in _text(active)

    other = c.get(f"{tab}&payer={scene.other.code}")
    assert _decision_rows(other) == {d(scene.other_member).pk}

    both = c.get(f"{tab}&decision_class=BILLED_ACTIVE&payer={scene.payer.code}")
    assert _decision_rows(both) == {d(scene.active).pk, d(scene.active_too).pk}

    one = c.get(f"{tab}&member={scene.terminated.external_id}")
    assert _decision_rows(one) == {d(scene.terminated).pk}
    assert "Billed: partial month (terminated)" in _text(one) and "$199.60" in _text(one)

    none = c.get(f"{tab}&decision_class=OVERRIDE_APPLIED")
    assert _decision_rows(none) == set()
    assert "No decisions match." in _text(none)


def test_decision_inputs_partial_marks_the_winning_assertion(world, scene):
    d = scene.decision(scene.active)
    loser = EligibilityAssertion.objects.get(member=scene.active, source_kind="FULL_FILE")

    r = _client(world, R.OPERATIONS).get(f"/billing/decisions/{d.pk}/", **HX)

    body = _text(r)
    assert r.status_code == 200 and "<html" not in body  # the HTMX fragment alone
    rows = {
        int(pk): (bool(winner), source)
        for winner, pk, star, source in re.findall(
            r'<tr (class="winner")?\s*><td>(\d+)( ★)?</td><td>(\w+)</td>', body
        )
    }
    assert rows == {
        scene.winner.pk: (True, "AMENDED_FILE"),
        loser.pk: (False, "FULL_FILE"),
    }
    assert (
        '<strong class="code" title="BILLED_ACTIVE">Billed: active</strong> · '
        f'<span id="billable-days-{d.pk}">31 billable days</span> · $412.50'
    ) in body
    # without HTMX it is a whole page
    page = _text(_client(world, R.OPERATIONS).get(f"/billing/decisions/{d.pk}/"))
    assert "<html" in page and f"Decision {d.pk} · {scene.active.external_id}" in page


def test_replay_shows_old_and_new_with_differing_inputs_highlighted(world, scene):
    d = scene.decision(scene.active)
    audit_before = AuditEntry.objects.count()

    r = _client(world, R.OPERATIONS).post(
        f"/billing/decisions/{d.pk}/replay/", {"rule_version": "v2"}, **HX
    )

    body = _text(r)
    assert r.status_code == 200 and "<html" not in body
    assert "The outcome changes" in body
    # the class stays, the amount changes (412.50 -> 500.00) and is highlighted
    assert re.search(
        r'<tr\s*><th>Class</th><td id="old-class"><span class="code" title="BILLED_ACTIVE">'
        r'Billed: active</span></td><td id="new-class"><span class="code" title="BILLED_ACTIVE">'
        r"Billed: active</span></td>",
        body,
    )
    assert re.search(
        r'<tr class="diff"><th>Amount</th><td id="old-amount">\$412.50</td>'
        r'<td id="new-amount">\$500.00</td>',
        body,
    )
    assert re.search(r"<tr\s*><th>Billable days</th><td>31</td><td>31</td>", body)
    # the differing inputs: the rule version and the tier, nothing else, as key/value lists
    differing = re.findall(r'<tr class="diff"><th>([\w ]+)</th><td><dl class="kv">', body)
    assert sorted(differing) == ["Rule version", "Tier"]
    assert "{&#x27;" not in body and "{'" not in html.unescape(body)  # no Python dicts
    # audited, nothing else written
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.latest("seq")
    assert entry.action == "DECISION_REPLAYED" and entry.object_id == str(d.pk)
    assert Decision.objects.get(pk=d.pk).amount == d.amount


def test_replay_of_an_unknown_rule_version_shows_the_error_in_the_panel(world, scene):
    d = scene.decision(scene.active)
    r = _client(world, R.OPERATIONS).post(
        f"/billing/decisions/{d.pk}/replay/", {"rule_version": "v9"}, **HX
    )
    assert r.status_code == 200
    assert '<p class="error" role="alert">' in r.content.decode()
    assert "has no rule version 'v9'" in _text(r)


def test_exceptions_tab_resolves_with_a_note_and_completes_the_run(world, scene):
    c = _client(world, R.OPERATIONS)
    url = f"/billing/exceptions/{scene.exception.pk}/resolve/"
    tab = f"/billing/runs/{scene.run.pk}/?tab=exceptions"
    assert scene.run.status == BillingRun.Status.COMPLETED_WITH_EXCEPTIONS
    assert "Open (1)" in _text(c.get(tab))

    # an empty note is refused with a message; nothing changes
    r = c.post(url, {"resolution": "  "}, follow=True)
    assert r.redirect_chain == [(tab, 302)]
    assert ("error", "A reason is required for this action.") in _messages(r)
    scene.exception.refresh_from_db()
    assert scene.exception.status == RunException.Status.OPEN

    # with a note it is resolved; it was the last one, so the run is COMPLETED
    r = c.post(url, {"resolution": "suffix X confirmed as a typo"}, follow=True)
    assert ("success", f"Exception {scene.exception.pk} resolved.") in _messages(r)
    assert "Open (0)" in _text(r)
    scene.exception.refresh_from_db()
    assert scene.exception.status == RunException.Status.RESOLVED
    assert scene.exception.resolved_by == world.users[R.OPERATIONS]
    run = BillingRun.objects.get(pk=scene.run.pk)
    assert (run.status, run.open_exceptions) == ("COMPLETED", 0)
    assert 'data-status="COMPLETED"' in _text(r)
    resolved = _text(c.get(f"/billing/runs/{scene.run.pk}/?tab=exceptions&status=RESOLVED"))
    assert "suffix X confirmed as a typo" in resolved and "alpha-operations" in resolved


def test_audit_tab_lists_run_closed_with_the_final_hash(world, scene):
    page = _client(world, R.VIEWER).get(f"/billing/runs/{scene.run.pk}/?tab=audit")

    body = _text(page)
    closed = [row for row in body.split("<tr>") if 'title="RUN_CLOSED">Run closed</span>' in row]
    assert len(closed) == 1
    assert scene.run.final_hash and f">{scene.run.final_hash}</code>" in closed[0]
    # the object links to its page; details are a key/value list; the time has no seconds
    link = f'<a href="/billing/runs/{scene.run.pk}/" class="object-link">Run {scene.run.pk}</a>'
    assert link in closed[0]
    assert '<dl class="kv">' in closed[0] and "{'" not in closed[0]
    assert not re.search(r"\d{2}:\d{2}:\d{2}", closed[0].split("</td>")[1])
    entry = AuditEntry.objects.get(action="RUN_CLOSED", object_id=str(scene.run.pk))
    assert entry.hash == scene.run.final_hash
    for action in ("RUN_TRIGGERED", "RUN_STARTED", "RUN_COMPLETED"):
        assert f'<span class="code" title="{action}">' in body


def test_downloads_tab_links_exports_and_shows_the_ready_package(world, scene):
    body = _text(_client(world, R.VIEWER).get(f"/billing/runs/{scene.run.pk}/?tab=downloads"))

    assert f'<a href="/billing/runs/{scene.run.pk}/roster.csv" id="download-roster">' in body
    assert f'<a href="/billing/runs/{scene.run.pk}/decisions.csv" id="download-decisions">' in body
    assert AuditPackage.objects.get(run=scene.run).status == AuditPackage.Status.READY
    assert 'id="package-status">Ready</span>' in body
    assert f'<a href="/billing/runs/{scene.run.pk}/package/" id="download-package">' in body


def test_roster_download_returns_csv_rows_and_is_audited(world, scene):
    user = world.users[R.VIEWER]
    r = _client(world, R.VIEWER).get(f"/billing/runs/{scene.run.pk}/roster.csv")

    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert f"roster-run{scene.run.pk}-2026-10-v1.csv" in r["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0] == ROSTER_COLUMNS
    body = {row[0]: row for row in rows[1:-3]}
    assert set(body) == {
        scene.active.external_id,
        scene.active_too.external_id,
        scene.terminated.external_id,
        scene.other_member.external_id,
    }
    assert body[scene.terminated.external_id][5:] == [
        "BILLED_PARTIAL_TERM",
        "15",
        "MED 0-64",
        "199.60",
    ]
    assert rows[-3:] == [
        ["# rows", "4"],
        ["# total_amount", "1437.10"],
        ["# unresolved_exceptions", "1"],
    ]
    entry = AuditEntry.objects.get(action="phi.export")
    assert (entry.object_type, entry.object_id) == ("billing.BillingRun", str(scene.run.pk))
    assert entry.actor == user and entry.payload["export"] == "roster"


def test_package_download_returns_the_zip_and_is_audited(world, scene):
    r = _client(world, R.VIEWER).get(f"/billing/runs/{scene.run.pk}/package/")

    assert r.status_code == 200
    content = b"".join(r.streaming_content)
    assert content[:2] == b"PK"
    assert f"audit-package-run{scene.run.pk}-2026-10-v1.zip" in r["Content-Disposition"]
    entry = AuditEntry.objects.get(action="phi.export")
    assert entry.payload["export"] == "audit_package"


# --- rule versions -----------------------------------------------------------------------


def test_rules_screen_renders_params_and_diffs_only_changed_ones(world, scene):
    c = _client(world, R.VIEWER)
    v1 = RuleVersion.objects.get(payer=scene.payer, version="v1")

    page = _text(c.get("/billing/rules/"))
    assert "<th><code>pricing_tiers[0].rate</code></th><td>412.50</td>" in page
    assert "<th><code>pricing_tiers[0].rate</code></th><td>500.00</td>" in page
    assert "<th><code>qualifying_service_codes</code></th><td>99213, 99214</td>" in page

    page = _text(c.get(f"/billing/rules/?a={v1.pk}&b={scene.draft.pk}"))
    table = re.search(r'<table class="table diff-table">.*?</table>', page, re.S).group(0)
    rows = re.findall(r'<tr (class="diff")?\s*><th><code>([^<]+)</code></th>', table)
    assert len(rows) > 10
    assert [key for changed, key in rows if changed] == ["pricing_tiers[0].rate"]
    assert re.search(
        r'<tr class="diff"><th><code>pricing_tiers\[0\]\.rate</code></th>'
        r"<td>412.50</td><td>500.00</td>",
        table,
    )


def test_rules_screen_activates_a_draft(world, scene):
    r = _client(world, R.BILLING_MANAGER).post(
        "/billing/rules/", {"rule_version": scene.draft.pk, "action": "activate"}, follow=True
    )

    assert r.redirect_chain == [("/billing/rules/", 302)]
    assert ("success", f"{scene.payer.code} vv2 is now active.") in _messages(r)
    scene.draft.refresh_from_db()
    assert scene.draft.status == RuleVersion.Status.ACTIVE
    assert AuditEntry.objects.filter(
        action="RULE_VERSION_ACTIVATED", object_id=str(scene.draft.pk)
    ).exists()


def test_rules_screen_never_activates_another_tenants_draft(world, scene):
    c = Client()
    c.force_login(world.outsider)
    r = c.post(
        "/billing/rules/", {"rule_version": scene.draft.pk, "action": "activate"}, follow=True
    )
    assert any(level == "error" for level, _ in _messages(r))
    scene.draft.refresh_from_db()
    assert scene.draft.status == RuleVersion.Status.DRAFT


# --- overrides ---------------------------------------------------------------------------


def _override_form(scene, **changes) -> dict:
    form = {
        "payer": scene.payer.code,
        "member": scene.no_service.external_id,
        "month": sb.MONTH_TEXT,
        "outcome": "BILLABLE",
        "rate": "300.00",
        "reason": "service delivered, record lost by the clinic",
    }
    form.update(changes)
    return form


def test_override_with_a_reason_applies_without_dual_control(world, scene):
    c = _client(world, R.BILLING_MANAGER)

    r = c.post("/billing/overrides/", _override_form(scene), follow=True)

    assert r.redirect_chain == [("/billing/overrides/", 302)]
    assert (
        "success",
        "Override applied; the next run (or a regeneration) uses it.",
    ) in _messages(r)
    o = MemberMonthOverride.objects.get()
    assert (o.member, o.month, o.outcome, str(o.rate), o.approved) == (
        scene.no_service,
        sb.MONTH,
        "BILLABLE",
        "300.00",
        True,
    )
    assert o.created_by == world.users[R.BILLING_MANAGER]
    assert scene.no_service.external_id in _text(r) and "— (no dual control)" in _text(r)


def test_override_without_a_reason_is_refused(world, scene):
    r = _client(world, R.BILLING_MANAGER).post(
        "/billing/overrides/", _override_form(scene, reason="  ")
    )
    assert r.status_code == 400
    body = _text(r)
    assert '<p class="error field-error" id="error-reason">an override needs a reason.</p>' in body
    assert f'name="member" value="{scene.no_service.external_id}"' in body  # kept as typed
    assert not MemberMonthOverride.objects.exists()


def test_override_with_a_bad_rate_keeps_what_was_typed(world, scene):
    r = _client(world, R.BILLING_MANAGER).post(
        "/billing/overrides/",
        _override_form(scene, rate="12,50", reason="service delivered, record lost"),
    )
    # the form is back with the error beside the rate and every value as typed
    assert r.status_code == 400
    body = _text(r)
    assert 'id="error-rate">expected an amount like 412.50.</p>' in body
    assert 'name="rate" inputmode="decimal" placeholder="412.50" value="12,50"' in body
    assert f'name="member" value="{scene.no_service.external_id}"' in body
    assert f'name="month" value="{sb.MONTH_TEXT}"' in body
    assert ">service delivered, record lost</textarea>" in body
    assert f"<option selected>{scene.payer.code}</option>" in body
    assert not MemberMonthOverride.objects.exists()


def test_override_under_dual_control_waits_for_approval(world, scene):
    tenant_policy_update(
        actor=world.actor(R.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    c = _client(world, R.BILLING_MANAGER)

    r = c.post("/billing/overrides/", _override_form(scene), follow=True)

    request = OverrideRequest.objects.get()
    assert (
        "success",
        f"Override request #{request.pk} waits for a second person's approval.",
    ) in _messages(r)
    assert request.status == OverrideRequest.Status.PENDING
    assert not MemberMonthOverride.objects.exists()

    # it waits in the approvals queue; another manager approves it there
    owner = _client(world, R.OWNER)
    queue = _text(owner.get("/approvals/overrides/"))
    assert "Waiting (1)" in queue
    assert f"<td>{request.pk}</td><td><code>billing.member_month_override</code></td>" in queue
    what = f"Billable at $300.00 for member #{scene.no_service.pk} of {scene.payer.code} in 2026-10"
    assert what in queue
    # approving asks first, saying what will be carried out
    assert (
        f'data-confirm="Approve override request #{request.pk}: {what} '
        '(requested by alpha-billing_manager). It is carried out at once."'
    ) in queue
    owner.post("/approvals/overrides/", {"request": request.pk, "decision": "approve"})
    o = MemberMonthOverride.objects.get()
    assert o.approved and o.approved_by == world.users[R.OWNER]
    assert o.created_by == world.users[R.BILLING_MANAGER]
