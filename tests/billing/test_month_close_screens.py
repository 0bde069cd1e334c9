"""Month close on the staff screens: the run page's Close button (with the numbers to confirm),
the Closed badge, the trigger form refusing a closed month beside the field, the Month close list
with reopen (reason beside the field; dual control), and its CSV export."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.test import Client

from billing.models import BillingRun, MonthClose
from billing.services.closes import month_close
from billing.services.runs import billing_run_regenerate
from core import scopes as S
from core.models import AuditEntry, OverrideRequest
from core.services import tenant_policy_update
from tests.billing import api_builders as b

R = S.Role


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _client(world, role: str) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _messages(response) -> list[tuple[str, str]]:
    found = re.findall(r'<li class="msg-(\w+)" role="status">(.*?)</li>', response.content.decode())
    return [(level, html.unescape(text)) for level, text in found]


def _billed(world, members: int = 2):
    p = b.billed_payer(world.tenant, members=members)
    return p, b.completed_run(world.tenant, [p])


def _close(world, p) -> MonthClose:
    return month_close(actor=world.actor(R.OWNER), payer_code=p.code, month=b.MONTH)


@pytest.mark.parametrize("role", [r.value for r in R])
def test_run_page_offers_close_with_the_numbers_only_to_trigger_holders(world, role):
    # given October billed for two members (825.00)
    p, run = _billed(world)

    # when the run page is opened
    page = _text(_client(world, role).get(f"/billing/runs/{run.pk}/"))

    # then billing managers and above see the Close button, with what it will do in numbers
    confirm = f"Close 2026-10 for {p.code}: 2 members, $825.00 billed; regeneration will be refused"
    if role in (R.OWNER, R.ADMIN, R.BILLING_MANAGER):
        assert f'data-confirm="{confirm}"' in page
        assert f"Close 2026-10 for {p.code}</button>" in page
    else:
        assert "data-confirm=" not in page
        assert f'action="/billing/runs/{run.pk}/close/"' not in page


def test_close_from_the_run_page_shows_closed_and_refuses_regeneration(world):
    # given October billed
    p, run = _billed(world)
    c = _client(world, R.BILLING_MANAGER)

    # when the billing manager closes it from the run page
    r = c.post(f"/billing/runs/{run.pk}/close/", {"payer": p.code, "note": "reviewed"})

    # then back on the run page: a success message, the Closed badge and the refusal
    assert r.status_code == 302 and r["Location"] == f"/billing/runs/{run.pk}/"
    page = c.get(r["Location"])
    close = MonthClose.objects.get()
    assert (close.run, close.closed_by, close.note) == (
        run,
        world.users[R.BILLING_MANAGER],
        "reviewed",
    )
    assert (
        "success",
        f"2026-10 closed for {p.code} on run #{run.pk}: regeneration and new production runs "
        "are refused until it is reopened.",
    ) in _messages(page)
    text = _text(page)
    assert f'data-closed="{p.code}">Closed</span>' in text
    assert "Regeneration and new production runs for this payer and month are refused" in text
    assert 'data-confirm="Close ' not in text  # no second close offered

    # and the runs list marks the run Closed
    rows = _text(c.get("/billing/"))
    row = re.search(rf'<tr id="run-{run.pk}">.*?</tr>', rows, re.S).group(0)
    assert f'data-closed="{p.code}"' in row and ">Closed</span>" in row

    # when the run is regenerated from its page, then it is refused naming payer and month
    regenerate = f"/billing/runs/{run.pk}/regenerate/"
    r = c.post(regenerate, {"reason_kind": "rule amendment"}, follow=True)
    assert any(
        level == "error" and msg.startswith(f"2026-10 is closed for payer {p.code} (close #")
        for level, msg in _messages(r)
    )
    assert BillingRun.objects.filter(run_payers__payer=p).count() == 1


def test_trigger_form_shows_a_closed_month_beside_the_field_keeping_the_typed_values(world):
    # given October closed for a payer
    p, _ = _billed(world)
    close = _close(world, p)
    c = _client(world, R.BILLING_MANAGER)

    # when a production run of October is triggered from the form
    r = c.post("/billing/", {"month": "2026-10", "payers": [p.code], "mode": "PRODUCTION"})

    # then the form comes back (409) with the refusal beside the month, as typed
    assert r.status_code == 409
    text = _text(r)
    assert (
        f'<p class="error field-error" id="error-month">2026-10 is closed for payer {p.code} '
        f"(close #{close.pk}, by alpha-owner on {close.closed_at:%Y-%m-%d}); no production run "
        "or regeneration until the month is reopened.</p>"
    ) in text
    assert 'name="month" value="2026-10"' in text
    assert f'name="payers" value="{p.code}" checked' in text
    assert 'name="mode" value="PRODUCTION" checked' in text
    assert BillingRun.objects.filter(run_payers__payer=p).count() == 1


def test_close_form_asks_to_confirm_open_exceptions_beside_the_fields(world):
    # given October's run with one open exception
    run, exc = b.run_with_exception(world.tenant)
    code = exc.payer.code
    c = _client(world, R.BILLING_MANAGER)
    url = f"/billing/runs/{run.pk}/close/"

    # the run page asks for the confirmation and a note, and says so in the numbers
    page = _text(c.get(f"/billing/runs/{run.pk}/"))
    assert "$412.50 billed, 1 open exception; regeneration will be refused" in page
    assert 'name="confirm_open_exceptions" value="1" required' in page

    # when posted without confirming, then the form page says why beside the checkbox
    r = c.post(url, {"payer": code, "note": "month end"})
    assert r.status_code == 400
    text = _text(r)
    assert re.search(r'id="confirm-error">confirm_open_exceptions: run #\d+ still has 1 open', text)
    assert ">month end</textarea>" in text  # the typed note is kept

    # when confirmed without a note, then the note is asked for beside it
    r = c.post(url, {"payer": code, "confirm_open_exceptions": "1"})
    assert r.status_code == 400
    assert 'id="note-error">note: say why 2026-10 closes with 1 open exception.' in _text(r)

    # when confirmed with a note, then it closes
    r = c.post(url, {"payer": code, "confirm_open_exceptions": "1", "note": "payer confirms"})
    assert r.status_code == 302
    assert MonthClose.objects.get().open_exceptions == 1


def test_month_close_list_reopens_with_a_reason_beside_the_field(world):
    # given October closed for a payer
    p, run = _billed(world)
    close = _close(world, p)
    c = _client(world, R.BILLING_MANAGER)

    # the list shows it, with who, the run and the figures
    text = _text(c.get("/billing/month-closes/"))
    row = re.search(rf'<tr id="close-{close.pk}">.*?</tr>', text, re.S).group(0)
    assert f"<td>{p.code}</td><td>2026-10</td>" in row
    assert 'data-status="CLOSED">Closed</span>' in row
    assert f'href="/billing/runs/{run.pk}/"' in row and "$825.00" in row and "alpha-owner" in row

    # when reopened without a reason, then the refusal is beside the field
    url = f"/billing/month-closes/{close.pk}/reopen/"
    r = c.post(url, {"reason": " "})
    assert r.status_code == 400
    assert 'id="reopen-error">reason: say why the month is reopened.</p>' in _text(r)

    # when reopened with a reason, then it is reopened and the list says by whom and why
    r = c.post(url, {"reason": "payer correction"}, follow=True)
    assert ("success", f"2026-10 for {p.code} reopened: it may be regenerated.") in _messages(r)
    row = re.search(rf'<tr id="close-{close.pk}">.*?</tr>', _text(r), re.S).group(0)
    assert 'data-status="REOPENED">Reopened</span>' in row
    assert "alpha-billing_manager" in row and "payer correction" in row
    assert AuditEntry.objects.filter(action="MONTH_REOPENED").count() == 1


def test_month_close_list_reopen_under_dual_control_waits(world):
    tenant_policy_update(actor=world.actor(R.OWNER), dual_control_scopes=[S.BILLING_RUN_TRIGGER])
    p, _ = _billed(world)
    close = _close(world, p)
    c = _client(world, R.BILLING_MANAGER)
    assert "a second person's approval" in _text(c.get("/billing/month-closes/"))

    r = c.post(f"/billing/month-closes/{close.pk}/reopen/", {"reason": "late"}, follow=True)

    request = OverrideRequest.objects.get()
    assert (
        "success",
        f"Reopening 2026-10 for {p.code} waits for a second person's approval "
        f"(override request #{request.pk}).",
    ) in _messages(r)
    close.refresh_from_db()
    assert close.status == "CLOSED"


def test_month_close_list_is_hidden_from_nobody_but_reopen_only_for_trigger_holders(world):
    p, _ = _billed(world)
    _close(world, p)
    for role in (R.OPERATIONS, R.VIEWER):
        text = _text(_client(world, role).get("/billing/month-closes/"))
        assert p.code in text
        assert 'name="reason"' not in text


def test_month_close_list_filters_and_exports_csv(world):
    (p1, _), (p2, run2) = _billed(world), _billed(world)
    _close(world, p1)
    _close(world, p2)
    c = _client(world, R.VIEWER)

    text = _text(c.get(f"/billing/month-closes/?payer={p2.code}&month=2026-10"))
    assert p2.code in text and f"<td>{p1.code}</td>" not in text
    assert f'href="/billing/month-closes.csv?payer={p2.code}&amp;month=2026-10"' in (
        c.get(f"/billing/month-closes/?payer={p2.code}&month=2026-10").content.decode()
    )

    r = c.get(f"/billing/month-closes.csv?payer={p2.code}")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0][:9] == [
        "id",
        "payer",
        "month",
        "status",
        "run",
        "run_version",
        "members",
        "amount",
        "open_exceptions",
    ]
    assert [row[1:9] for row in rows[1:]] == [
        [p2.code, "2026-10", "CLOSED", str(run2.pk), "1", "2", "825.00", "0"]
    ]


def test_simulation_run_page_has_no_close(world):
    p = b.billed_payer(world.tenant)
    sim = b.completed_run(world.tenant, [p], mode=BillingRun.Mode.SIMULATION)
    page = _text(_client(world, R.OWNER).get(f"/billing/runs/{sim.pk}/"))
    assert 'id="month-close"' not in page
    r = _client(world, R.OWNER).post(f"/billing/runs/{sim.pk}/close/", {"payer": p.code})
    assert r.status_code == 404
    assert not MonthClose.objects.exists()


def test_close_form_shows_a_conflict_at_the_top_not_beside_the_note(world):
    # given October billed and its regeneration queued
    p, run = _billed(world)
    regen = billing_run_regenerate(
        actor=world.actor(R.OWNER), run_id=run.pk, reason="amended", enqueue=False
    )

    # when the month is closed from the form, then the refusal heads the form (409)
    r = _client(world, R.BILLING_MANAGER).post(
        f"/billing/runs/{run.pk}/close/", {"payer": p.code, "note": "month end"}
    )
    assert r.status_code == 409
    text = _text(r)
    assert f'id="form-error">Production run #{regen.pk} for 2026-10 and payer {p.code}' in text
    assert 'id="note-error"' not in text
    assert not MonthClose.objects.exists()
