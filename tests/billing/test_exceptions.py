"""Run exceptions (SPEC 4, issue 10): grouped by code, resolved in bulk with per-item outcomes
(API and screen), exported as CSV, and closed by supersession once a regeneration replaced the
run."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.test import Client

from billing.models import BillingRun, RunException
from core import scopes as S
from core.models import AuditEntry
from tests.billing import exception_builders as xb

R = S.Role
RUNS = "/api/billing/runs"
NOTE = "suffix X is dental; the payer confirmed"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def xr(world) -> xb.ExceptionRun:
    return xb.run_with_exceptions(world.tenant)


def _error(response) -> dict:
    return response.json()["error"]


def _browser(world, role: str) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _statuses(ids) -> list[str]:
    found = dict(RunException.objects.filter(pk__in=ids).values_list("id", "status"))
    return [found[i] for i in ids]


def _audited(tenant, action: str, ids=None) -> int:
    qs = AuditEntry.objects.filter(tenant=tenant, action=action)
    if ids is not None:
        qs = qs.filter(object_id__in=[str(i) for i in ids])
    return qs.count()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def _ids(xs) -> list[int]:
    return [x.pk for x in xs]


# --- API: bulk resolve ------------------------------------------------------------------------


def test_api_bulk_resolve_by_code_resolves_each_and_completes_the_run_with_the_last(world, xr):
    # given a run with 3 + 1 open UNKNOWN_BENEFIT_COMBINATION (two payers) and 1 NO_PRICING_TIER
    client = world.client(R.OPERATIONS)
    url = f"{RUNS}/{xr.run.pk}/exceptions/resolve"
    unknown = _ids(xr.unknown + xr.other_unknown)

    # when every UNKNOWN_BENEFIT_COMBINATION is resolved with one note
    response = client.post(url, {"code": xb.UNKNOWN, "resolution": NOTE}, format="json")

    # then each of the 4 is resolved, one audit entry each, and the run still has one open
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"] == {
        "resolved": 4,
        "already_resolved": 0,
        "not_allowed": 0,
        "not_found": 0,
    }
    assert [(i["id"], i["code"], i["outcome"]) for i in body["items"]] == [
        (pk, xb.UNKNOWN, "resolved") for pk in sorted(unknown)
    ]
    assert body["run"] == {
        "id": xr.run.pk,
        "status": "COMPLETED_WITH_EXCEPTIONS",
        "open_exceptions": 1,
    }
    assert _statuses(unknown) == ["RESOLVED"] * 4
    assert set(
        RunException.objects.filter(pk__in=unknown).values_list("resolution", flat=True)
    ) == {NOTE}
    assert _audited(world.tenant, "RUN_EXCEPTION_RESOLVED", unknown) == 4
    assert _audited(world.tenant, "RUN_EXCEPTIONS_RESOLVED") == 0

    # when the last code is resolved the same way
    last = client.post(url, {"code": xb.NO_TIER, "resolution": "tier 65+ added"}, format="json")

    # then the run is COMPLETED with nothing open, said once in the audit trail
    assert last.json()["counts"]["resolved"] == 1
    assert last.json()["run"] == {"id": xr.run.pk, "status": "COMPLETED", "open_exceptions": 0}
    assert xr.refresh().status == BillingRun.Status.COMPLETED
    assert _audited(world.tenant, "RUN_EXCEPTION_RESOLVED") == 5
    assert _audited(world.tenant, "RUN_EXCEPTIONS_RESOLVED") == 1
    assert client.get(f"{RUNS}/{xr.run.pk}").json()["status"] == "COMPLETED"


def test_api_bulk_resolve_of_a_selection_reports_each_item(world, xr):
    # given an operations member narrowed to the run's first payer, one of whose exceptions
    # is already resolved
    xb.narrow(world, R.OPERATIONS, xr.payer)
    client = world.client(R.OPERATIONS)
    first, second, done = _ids(xr.unknown)
    client.post(f"/api/billing/exceptions/{done}/resolve", {"resolution": "earlier"}, format="json")
    theirs = xr.other_unknown[0].pk

    # when they resolve a selection mixing open, resolved, another payer's and unknown ids
    ids = [first, done, theirs, 99_999_999, second, first]
    response = client.post(
        f"{RUNS}/{xr.run.pk}/exceptions/resolve", {"ids": ids, "resolution": NOTE}, format="json"
    )

    # then every item has its outcome, in the order given (a repeated id once)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [(i["id"], i["outcome"]) for i in body["items"]] == [
        (first, "resolved"),
        (done, "already_resolved"),
        (theirs, "not_allowed"),
        (99_999_999, "not_found"),
        (second, "resolved"),
    ]
    assert body["counts"] == {
        "resolved": 2,
        "already_resolved": 1,
        "not_allowed": 1,
        "not_found": 1,
    }
    # and the other payer's exception is untouched, the earlier note kept
    assert _statuses([first, second, done, theirs]) == ["RESOLVED", "RESOLVED", "RESOLVED", "OPEN"]
    assert RunException.objects.get(pk=done).resolution == "earlier"
    assert _audited(world.tenant, "RUN_EXCEPTION_RESOLVED", [theirs]) == 0
    # and the run still waits for the other payer's and the NO_PRICING_TIER exceptions
    assert body["run"]["status"] == "COMPLETED_WITH_EXCEPTIONS"
    assert body["run"]["open_exceptions"] == 2


def test_api_bulk_resolve_by_code_covers_only_the_granted_payers(world, xr):
    # given an operations member narrowed to the first payer
    xb.narrow(world, R.OPERATIONS, xr.payer)
    client = world.client(R.OPERATIONS)

    # when they resolve every UNKNOWN_BENEFIT_COMBINATION
    response = client.post(
        f"{RUNS}/{xr.run.pk}/exceptions/resolve",
        {"code": xb.UNKNOWN, "resolution": NOTE},
        format="json",
    )

    # then only their payer's 3 are resolved; the other payer's stays open
    assert response.json()["counts"]["resolved"] == 3
    assert {i["id"] for i in response.json()["items"]} == set(_ids(xr.unknown))
    assert _statuses(_ids(xr.other_unknown)) == ["OPEN"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"code": xb.UNKNOWN, "resolution": ""}, "resolution"),
        ({"code": xb.UNKNOWN, "resolution": "   "}, "resolution"),
        ({"code": xb.UNKNOWN}, "resolution"),
        ({"resolution": NOTE}, "code"),
        ({"code": xb.UNKNOWN, "ids": [1], "resolution": NOTE}, "code"),
        ({"ids": [], "resolution": NOTE}, "ids"),
        ({"ids": ["x"], "resolution": NOTE}, "ids"),
        ({"code": "NO_SUCH_CODE", "resolution": NOTE}, "code"),
    ],
)
def test_api_bulk_resolve_refuses_bad_input_naming_the_field(world, xr, body, field):
    client = world.client(R.OPERATIONS)
    response = client.post(f"{RUNS}/{xr.run.pk}/exceptions/resolve", body, format="json")
    assert response.status_code == 400, response.content
    assert _error(response)["message"].startswith(f"{field}:"), _error(response)
    assert xr.refresh().open_exceptions == 5
    assert _audited(world.tenant, "RUN_EXCEPTION_RESOLVED") == 0


def test_api_bulk_resolve_needs_the_scope_and_a_visible_run(world, xr):
    body = {"code": xb.UNKNOWN, "resolution": NOTE}
    url = f"{RUNS}/{xr.run.pk}/exceptions/resolve"
    assert world.client(R.VIEWER).post(url, body, format="json").status_code == 403
    assert world.client("outsider").post(url, body, format="json").status_code == 404
    assert xr.refresh().open_exceptions == 5


def test_api_exception_list_filters_by_code(world, xr):
    client = world.client(R.VIEWER)
    listed = client.get(f"{RUNS}/{xr.run.pk}/exceptions?code={xb.NO_TIER}").json()["results"]
    assert [e["id"] for e in listed] == _ids(xr.no_tier)
    assert listed[0]["closed_by_supersession"] is False
    assert listed[0]["replaced_by"] is None
    bad = client.get(f"{RUNS}/{xr.run.pk}/exceptions?status=SHUT")
    assert bad.status_code == 400
    assert _error(bad)["message"].startswith("status:")


# --- superseded runs --------------------------------------------------------------------------


def test_superseded_run_reports_its_open_exceptions_as_closed_by_supersession(world, xr):
    # given a run with one resolved and four open exceptions, then regenerated
    client = world.client(R.OPERATIONS)
    resolved = xr.no_tier[0].pk
    client.post(f"/api/billing/exceptions/{resolved}/resolve", {"resolution": "ok"}, format="json")
    newer = xb.regenerate(world.tenant, xr.run)

    # then the API's list says which are closed by supersession and by which run
    listed = client.get(f"{RUNS}/{xr.run.pk}/exceptions").json()["results"]
    closed = {e["id"]: (e["closed_by_supersession"], e["replaced_by"]) for e in listed}
    assert closed[resolved] == (False, None)
    assert {v for k, v in closed.items() if k != resolved} == {(True, newer.pk)}
    # and the newer run's exceptions are live work
    fresh = client.get(f"{RUNS}/{newer.pk}/exceptions").json()["results"]
    assert fresh and not any(e["closed_by_supersession"] for e in fresh)

    # and they can no longer be resolved, in bulk or one by one
    bulk = client.post(
        f"{RUNS}/{xr.run.pk}/exceptions/resolve",
        {"code": xb.UNKNOWN, "resolution": NOTE},
        format="json",
    )
    assert bulk.status_code == 409
    assert _error(bulk)["code"] == "closed_by_supersession"
    assert f"superseded by run {newer.pk}" in _error(bulk)["message"]
    one = client.post(
        f"/api/billing/exceptions/{xr.unknown[0].pk}/resolve", {"resolution": NOTE}, format="json"
    )
    assert one.status_code == 409
    assert _statuses(_ids(xr.unknown)) == ["OPEN"] * 3


def test_superseded_run_screen_shows_no_open_work_and_no_resolve_forms(world, xr):
    # given a superseded run with four exceptions left open
    newer = xb.regenerate(world.tenant, xr.run)
    c = _browser(world, R.OPERATIONS)

    # when its Exceptions tab is opened
    page = _text(c.get(f"/billing/runs/{xr.run.pk}/?tab=exceptions"))

    # then the rows read closed by supersession, naming the run that replaced it
    note = f"Closed by supersession (run {newer.pk} replaced this one)"
    assert page.count(note) == 5
    assert 'id="superseded-notice"' in page
    assert "closed by supersession and need no resolution" in page
    # and nothing offers to resolve them, nor counts them as open work
    assert "/exceptions/resolve/" not in page
    assert "/billing/exceptions/" not in page
    assert 'name="resolution"' not in page
    assert re.search(r">Exceptions \(\d+\)</a>", page) is None
    assert "Open (" not in page
    assert "5 exceptions closed by supersession" in page  # the run's counters
    assert "5 open exceptions" not in page
    # and the runs list does not count them as open
    rows = _text(c.get("/billing/rows/"))
    row = re.search(rf'<tr id="run-{xr.run.pk}">(.*?)</tr>', rows, re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', row)[-1] == "0"
    # while the regeneration's exceptions are open work with their forms
    fresh = _text(c.get(f"/billing/runs/{newer.pk}/?tab=exceptions"))
    assert "Closed by supersession" not in fresh
    assert f'action="/billing/runs/{newer.pk}/exceptions/resolve/"' in fresh
    assert f">Exceptions ({newer.open_exceptions})</a>" in fresh


def test_superseded_run_refuses_a_posted_bulk_resolve_on_the_screen(world, xr):
    xb.regenerate(world.tenant, xr.run)
    c = _browser(world, R.OPERATIONS)
    url = f"/billing/runs/{xr.run.pk}/exceptions/resolve/"
    response = c.post(url, {"code": xb.UNKNOWN, "resolution": NOTE}, follow=True)
    assert "closed by supersession" in _text(response)
    assert _statuses(_ids(xr.unknown)) == ["OPEN"] * 3


# --- screen: grouped view and bulk resolve ----------------------------------------------------


def test_exceptions_tab_groups_by_code_with_counts_links_and_confirmed_forms(world, xr):
    # given one UNKNOWN_BENEFIT_COMBINATION already resolved
    world.client(R.OPERATIONS).post(
        f"/api/billing/exceptions/{xr.unknown[0].pk}/resolve", {"resolution": "ok"}, format="json"
    )
    c = _browser(world, R.OPERATIONS)

    # when the Exceptions tab is opened
    page = _text(c.get(f"/billing/runs/{xr.run.pk}/?tab=exceptions"))

    # then each code has its open and resolved counts and a form to resolve all of it
    groups = re.findall(
        r'<tr id="group-(\w+)">.*?data-count="open">(\d+)</td>\s*'
        r'<td class="num" data-count="resolved">(\d+)</td>',
        page,
        re.S,
    )
    assert groups == [(xb.UNKNOWN, "3", "1"), (xb.NO_TIER, "1", "0")]
    assert (
        f'data-confirm="Resolve all 3 open {xb.UNKNOWN} exceptions of run {xr.run.pk} '
        'with this note"'
    ) in page
    assert f'data-confirm="Resolve all 1 open {xb.NO_TIER} exception of run {xr.run.pk}' in page
    assert "Unknown benefit combination" in page
    assert "Open (4)" in page and "Resolved (1)" in page
    # and each row links to its member and to the member's decision in the run
    exc = xr.unknown[1]
    row = re.search(rf'<tr id="exception-{exc.pk}">(.*?)</tr>', page, re.S).group(1)
    decision = exc.run.decisions.get(member=exc.member, payer=exc.payer, month=exc.month)
    assert f'href="/billing/decisions/{decision.pk}/" class="decision-link"' in row
    member = re.search(r'<a href="([^"]+)" class="member-link">([^<]+)</a>', row)
    assert member.group(2) == exc.member.external_id
    assert (
        member.group(1).endswith(
            f"/billing/runs/{xr.run.pk}/?tab=decisions&member={exc.member.external_id}"
        )
        or member.group(1) == f"/billing/members/{exc.member_id}/"
    )
    assert f'name="ids" value="{exc.pk}" form="bulk-select"' in row
    # and the selection form and the CSV export carry the list's filters
    assert 'id="bulk-select"' in page
    assert f'href="/billing/runs/{xr.run.pk}/exceptions.csv?status=OPEN"' in page


def test_exceptions_tab_filters_by_code(world, xr):
    c = _browser(world, R.VIEWER)
    page = _text(c.get(f"/billing/runs/{xr.run.pk}/?tab=exceptions&status=ALL&code={xb.NO_TIER}"))
    rows = {int(pk) for pk in re.findall(r'<tr id="exception-(\d+)">', page)}
    assert rows == set(_ids(xr.no_tier))
    assert f'exceptions.csv?status=ALL&code={xb.NO_TIER}"' in page


def test_viewer_sees_the_groups_but_no_resolve_forms(world, xr):
    page = _text(_browser(world, R.VIEWER).get(f"/billing/runs/{xr.run.pk}/?tab=exceptions"))
    assert f'<tr id="group-{xb.UNKNOWN}">' in page
    assert "/exceptions/resolve/" not in page
    assert 'name="ids"' not in page


def test_screen_bulk_resolve_by_code_shows_per_item_outcomes_and_the_run_status(world, xr):
    # given the operations member on the Exceptions tab
    c = _browser(world, R.OPERATIONS)
    url = f"/billing/runs/{xr.run.pk}/exceptions/resolve/"

    # when they resolve every NO_PRICING_TIER, then every UNKNOWN_BENEFIT_COMBINATION
    first = c.post(url, {"code": xb.NO_TIER, "resolution": "tier added", "status": "OPEN"})
    assert first.status_code == 302
    assert first["Location"] == f"/billing/runs/{xr.run.pk}/?tab=exceptions&status=OPEN"
    c.get(first["Location"])  # shows (and so clears) that outcome
    response = c.post(url, {"code": xb.UNKNOWN, "resolution": NOTE}, follow=True)

    # then the page lists each exception's outcome with the counts
    page = _text(response)
    assert 'id="bulk-outcome"' in page
    assert f"Outcome: all open {xb.UNKNOWN}" in page
    assert re.search(r'id="outcome-resolved">4<', page)
    assert re.search(r'id="outcome-already-resolved">0<', page)
    outcomes = re.findall(r'<tr id="outcome-(\d+)" data-outcome="(\w+)">', page)
    assert outcomes == [(str(pk), "resolved") for pk in sorted(_ids(xr.unknown + xr.other_unknown))]
    # and the run is COMPLETED, which the page and the flash message say
    assert ("success", f"Run {xr.run.pk}: 4 resolved. The run is completed.") in [
        (lvl, txt)
        for lvl, txt in re.findall(r'<li class="msg-(\w+)" role="status">(.*?)</li>', page)
    ]
    assert 'data-status="COMPLETED"' in page
    assert xr.refresh().status == BillingRun.Status.COMPLETED
    assert _audited(world.tenant, "RUN_EXCEPTION_RESOLVED") == 5
    # and the outcome is shown once
    again = _text(c.get(f"/billing/runs/{xr.run.pk}/?tab=exceptions"))
    assert 'id="bulk-outcome"' not in again


def test_screen_bulk_resolve_of_ticked_rows_reports_each(world, xr):
    xb.narrow(world, R.OPERATIONS, xr.payer)
    c = _browser(world, R.OPERATIONS)
    mine, theirs = xr.unknown[0].pk, xr.other_unknown[0].pk
    response = c.post(
        f"/billing/runs/{xr.run.pk}/exceptions/resolve/",
        {"ids": [str(mine), str(theirs)], "resolution": NOTE},
        follow=True,
    )
    page = _text(response)
    assert f'<tr id="outcome-{mine}" data-outcome="resolved">' in page
    assert f'<tr id="outcome-{theirs}" data-outcome="not_allowed">' in page
    assert "Not allowed (another payer's exception)" in page
    assert _statuses([mine, theirs]) == ["RESOLVED", "OPEN"]


def test_screen_bulk_resolve_without_a_note_shows_the_error_beside_the_field(world, xr):
    c = _browser(world, R.OPERATIONS)
    url = f"/billing/runs/{xr.run.pk}/exceptions/resolve/"

    # when "resolve all" of a code is posted without a note
    response = c.post(url, {"code": xb.UNKNOWN, "resolution": "  "})

    # then the tab comes back with the error beside that group's note field
    assert response.status_code == 400
    page = _text(response)
    error = re.search(rf'<span class="error" id="note-{xb.UNKNOWN}-error">([^<]+)</span>', page)
    assert error and "write a note" in error.group(1).lower()
    assert f'id="note-{xb.UNKNOWN}"' in page and 'aria-invalid="true"' in page
    assert _statuses(_ids(xr.unknown)) == ["OPEN"] * 3

    # when a selection is posted without a note, the ticked rows stay ticked
    picked = _ids(xr.unknown[:2])
    response = c.post(url, {"ids": [str(i) for i in picked], "resolution": ""})
    assert response.status_code == 400
    page = _text(response)
    assert re.search(r'id="note-selection-error">[^<]*note', page)
    ticked = re.findall(r'name="ids" value="(\d+)" form="bulk-select" [^>]*checked', page)
    assert sorted(int(i) for i in ticked) == sorted(picked)

    # when a note is typed but nothing is ticked, the note is kept and the error names the ids
    response = c.post(url, {"resolution": "checked with the payer"})
    assert response.status_code == 400
    page = _text(response)
    assert 'value="checked with the payer"' in page
    assert re.search(r'id="note-selection-error">Choose at least one exception', page)
    assert xr.refresh().open_exceptions == 5


def test_screen_bulk_resolve_is_refused_to_a_viewer(world, xr):
    c = _browser(world, R.VIEWER)
    response = c.post(
        f"/billing/runs/{xr.run.pk}/exceptions/resolve/", {"code": xb.UNKNOWN, "resolution": NOTE}
    )
    assert response.status_code == 403
    assert xr.refresh().open_exceptions == 5


# --- CSV export -------------------------------------------------------------------------------


def test_exceptions_csv_exports_what_the_list_shows_with_its_filters(world, xr):
    # given one NO_PRICING_TIER resolved
    world.client(R.OPERATIONS).post(
        f"/api/billing/exceptions/{xr.no_tier[0].pk}/resolve", {"resolution": "ok"}, format="json"
    )
    c = _browser(world, R.VIEWER)
    url = f"/billing/runs/{xr.run.pk}/exceptions.csv"

    # the open ones by default
    response = c.get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"exceptions-run{xr.run.pk}-2026-10-v1.csv" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "id",
        "code",
        "payer",
        "member_id",
        "month",
        "message",
        "status",
        "resolved_by",
        "resolved_at",
        "resolution",
    ]
    assert [int(r[0]) for r in rows[1:]] == sorted(_ids(xr.unknown + xr.other_unknown))
    first = xr.unknown[0]
    row = next(r for r in rows if r[0] == str(first.pk))
    assert row[1:5] == [xb.UNKNOWN, xr.payer.code, first.member.external_id, "2026-10"]
    assert row[6] == "OPEN"

    # filtered by status and code, as in the URL of the list
    rows = _csv(c.get(f"{url}?status=RESOLVED&code={xb.NO_TIER}"))
    assert [(r[0], r[6], r[7], r[9]) for r in rows[1:]] == [
        (str(xr.no_tier[0].pk), "RESOLVED", "alpha-operations", "ok")
    ]
    assert rows[1][8]  # resolved_at, in the tenant's time zone
    assert len(_csv(c.get(f"{url}?status=ALL"))) == 1 + 5

    # and every download is audited
    assert _audited(world.tenant, "phi.export") == 3


def test_exceptions_csv_of_a_narrowed_member_and_of_a_superseded_run(world, xr):
    xb.narrow(world, R.VIEWER, xr.other)
    c = _browser(world, R.VIEWER)
    rows = _csv(c.get(f"/billing/runs/{xr.run.pk}/exceptions.csv?status=ALL"))
    assert [int(r[0]) for r in rows[1:]] == _ids(xr.other_unknown)

    newer = xb.regenerate(world.tenant, xr.run)
    rows = _csv(c.get(f"/billing/runs/{xr.run.pk}/exceptions.csv?status=ALL"))
    assert [(r[6], r[9]) for r in rows[1:]] == [
        ("CLOSED_BY_SUPERSESSION", f"Closed by supersession (run {newer.pk} replaced this one)")
    ]


# --- races (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_and_single_resolutions_resolve_each_exception_once(world):
    # given a run with 5 open exceptions, and two bulk resolutions of the same code plus a
    # single resolution of one of its exceptions, released together
    from billing.services import exceptions as services
    from core.audit import verify_chain
    from core.exceptions import DomainError, TransitionRefused
    from tests.concurrency import race

    xr = xb.run_with_exceptions(world.tenant, unknown=4, other_unknown=1, no_tier=0)
    single = xr.unknown[2].pk

    def work(i: int):
        actor = world.actor(R.OPERATIONS if i else R.BILLING_MANAGER)
        if i == 2:
            return services.run_exception_resolve(
                actor=actor, exception_id=single, resolution="one"
            )
        return services.run_exceptions_resolve(
            actor=actor, run_id=xr.run.pk, code=xb.UNKNOWN, resolution=f"bulk {i}"
        )

    results = race(3, work)

    # then the single resolved its exception, or (a bulk locked it first) was told it is
    # resolved already; nobody else failed (a bulk finding nothing left open says so), each
    # exception was resolved once, the counter is exact and the run completed once
    single_won = isinstance(results[2], RunException)
    if not single_won:
        assert isinstance(results[2], TransitionRefused), results
        assert f"Cannot resolve run exception {single}: it is RESOLVED" in results[2].message
    bulks = [r for r in results[:2] if isinstance(r, services.BulkResolveResult)]
    refused = [r for r in results[:2] if isinstance(r, DomainError)]
    assert len(bulks) + len(refused) == 2, results
    assert all("no open exception" in r.message for r in refused), results
    resolved = sum(b.counts["resolved"] for b in bulks) + single_won
    assert resolved == 5
    assert _statuses(_ids(xr.unknown + xr.other_unknown)) == ["RESOLVED"] * 5
    assert _audited(world.tenant, "RUN_EXCEPTION_RESOLVED") == 5
    assert _audited(world.tenant, "RUN_EXCEPTIONS_RESOLVED") == 1
    run = xr.refresh()
    assert (run.status, run.open_exceptions) == (BillingRun.Status.COMPLETED, 0)
    assert verify_chain(world.tenant).ok
