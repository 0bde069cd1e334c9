"""Month input is strict everywhere (issue 11, defect 4): exactly YYYY-MM, a year from 2000 to
this year + 2, in the API (bodies and filters), the override service, commands and screens."""

from __future__ import annotations

import html
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from billing.models import BillingRun, MemberMonthOverride, MonthClose
from core import scopes as S
from core.months import month_expected
from tests.billing import api_builders as b

BAD = ["2026-02-30", "2026-12-garbage", "99999999999999999999-01", "1900-01"]
RUNS = "/api/billing/runs"
CLOSES = "/api/billing/month-closes"
OVERRIDES = "/api/billing/overrides"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def manager(world):
    client = world.client(S.Role.BILLING_MANAGER)
    client.raise_request_exception = False  # an OverflowError must show as what the client sees
    return client


@pytest.fixture
def screens(world) -> Client:
    c = Client(raise_request_exception=False)
    c.force_login(world.users[S.Role.BILLING_MANAGER])
    return c


def _refused(response, field: str = "month") -> None:
    """400 with the envelope naming the field and the expected form."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == f"{field}: {month_expected()}"
    assert field in error["details"]


def _text(response) -> str:
    return html.unescape(response.content.decode())


# --- API --------------------------------------------------------------------------------------


@pytest.mark.parametrize("month", BAD)
def test_api_run_trigger_refuses_bad_month_and_starts_nothing(world, manager, month):
    payer = b.payer_with_rules(world.tenant)
    body = {"month": month, "payers": [payer.code], "mode": "PRODUCTION"}
    _refused(manager.post(RUNS, body, format="json"))
    assert not BillingRun.objects.exists()


def test_api_run_trigger_with_valid_month_still_runs(world, manager):
    payer = b.payer_with_rules(world.tenant)
    response = manager.post(RUNS, {"month": "2026-10", "payers": [payer.code]}, format="json")
    assert response.status_code == 201
    assert response.json()["month"] == "2026-10"


@pytest.mark.parametrize("month", BAD)
def test_api_run_list_filter_refuses_bad_month(world, manager, month):
    _refused(manager.get(RUNS, {"month": month}))


def test_api_run_list_filter_with_valid_month(world, manager):
    payer = b.payer_with_rules(world.tenant)
    run = b.trigger(world.tenant, [payer])
    response = manager.get(RUNS, {"month": "2026-10"})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [run.pk]


@pytest.mark.parametrize("month", BAD)
def test_api_month_close_list_filter_and_create_refuse_bad_month(world, manager, month):
    payer = b.billed_payer(world.tenant)
    _refused(manager.get(CLOSES, {"month": month}))
    _refused(manager.post(CLOSES, {"payer": payer.code, "month": month}, format="json"))
    assert not MonthClose.objects.exists()


def test_api_month_close_with_valid_month_still_closes(world, manager):
    payer = b.billed_payer(world.tenant)
    b.completed_run(world.tenant, [payer])
    response = manager.post(CLOSES, {"payer": payer.code, "month": "2026-10"}, format="json")
    assert response.status_code == 201
    assert manager.get(CLOSES, {"month": "2026-10"}).json()["results"][0]["month"] == "2026-10"


def _override_body(payer, member, month: str) -> dict:
    return {
        "payer": payer.code,
        "member": member.external_id,
        "month": month,
        "outcome": "NOT_BILLABLE",
        "reason": "moved abroad",
    }


@pytest.mark.parametrize("month", BAD)
def test_api_override_refuses_bad_month(world, manager, month):
    payer = b.payer_with_rules(world.tenant)
    member = b.member(world.tenant, payer)
    _refused(manager.post(OVERRIDES, _override_body(payer, member, month), format="json"))
    assert not MemberMonthOverride.objects.exists()


def test_api_override_with_valid_month_still_applies(world, manager):
    payer = b.payer_with_rules(world.tenant)
    member = b.member(world.tenant, payer)
    response = manager.post(OVERRIDES, _override_body(payer, member, "2026-10"), format="json")
    assert response.status_code == 201
    assert MemberMonthOverride.objects.get().month.isoformat() == "2026-10-01"


@pytest.mark.parametrize("month", [*BAD, "2026-10-15"])
def test_override_payload_month_is_parsed_strictly(world, month):
    # a payload as stored for dual control holds the month's first day; anything else is refused
    from billing.services.overrides import _parse
    from core.exceptions import DomainError

    payer = b.payer_with_rules(world.tenant)
    member = b.member(world.tenant, payer)
    payload = {"payer_id": payer.pk, "member_id": member.pk, "month": month, "outcome": "BILLABLE"}
    with pytest.raises(DomainError) as exc:
        _parse(world.actor(S.Role.OWNER), payload)
    assert exc.value.message == f"month: {month_expected()}"
    payload["month"] = "2026-10-01"
    assert _parse(world.actor(S.Role.OWNER), payload)[2].isoformat() == "2026-10-01"


# --- commands ---------------------------------------------------------------------------------


def _command_fails(*args) -> str:
    with pytest.raises(CommandError) as exc:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    return str(exc.value)


@pytest.mark.parametrize("month", BAD)
def test_commands_refuse_bad_month(world, month):
    payer = b.billed_payer(world.tenant)
    b.completed_run(world.tenant, [payer])
    runs_before = BillingRun.objects.count()
    expected = f"--month: {month_expected()}."
    args = ("--tenant", "alpha", "--month", month)
    assert _command_fails("trigger_run", *args, "--payer", payer.code, "--sync") == expected
    assert _command_fails("close_month", *args, "--payer", payer.code) == expected
    assert BillingRun.objects.count() == runs_before
    assert not MonthClose.objects.exists()


def test_commands_with_valid_month_still_work(world):
    payer = b.billed_payer(world.tenant)
    out = io.StringIO()
    call_command(
        "trigger_run", "--tenant", "alpha", "--month", "2026-10", "--payer", payer.code, "--sync",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert '"status": "COMPLETED"' in out.getvalue()
    call_command(
        "close_month", "--tenant", "alpha", "--month", "2026-10", "--payer", payer.code,
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert MonthClose.objects.get().month.isoformat() == "2026-10-01"


# --- screens ----------------------------------------------------------------------------------


@pytest.mark.parametrize("month", BAD)
def test_trigger_form_refuses_bad_month_beside_the_field(world, screens, month):
    payer = b.payer_with_rules(world.tenant)
    response = screens.post(
        "/billing/", {"month": month, "payers": [payer.code], "mode": "PRODUCTION"}
    )
    assert response.status_code == 400
    assert f'<p class="error field-error" id="error-month">{month_expected()}</p>' in _text(
        response
    )
    assert not BillingRun.objects.exists()


def test_trigger_form_with_valid_month_still_queues(world, screens):
    payer = b.payer_with_rules(world.tenant)
    response = screens.post(
        "/billing/", {"month": "2026-10", "payers": [payer.code], "mode": "SIMULATION"}
    )
    assert response.status_code == 302
    assert BillingRun.objects.get().month.isoformat() == "2026-10-01"


@pytest.mark.parametrize("month", BAD)
def test_override_form_refuses_bad_month_beside_the_field(world, screens, month):
    payer = b.payer_with_rules(world.tenant)
    member = b.member(world.tenant, payer)
    response = screens.post("/billing/overrides/", _override_body(payer, member, month))
    assert response.status_code == 400
    assert 'id="error-month"' in _text(response)
    assert month_expected() in _text(response)
    assert not MemberMonthOverride.objects.exists()


@pytest.mark.parametrize("month", BAD)
def test_list_filters_on_screens_refuse_bad_month_beside_the_field(world, screens, month):
    payer = b.billed_payer(world.tenant)
    b.completed_run(world.tenant, [payer])
    for url in ("/billing/", "/billing/month-closes/"):
        response = screens.get(url, {"month": month})
        assert response.status_code == 400, url
        page = _text(response)
        assert f'id="error-filter-month" role="alert">month: {month_expected()}</p>' in page
        assert 'aria-describedby="error-filter-month"' in page
    for url in ("/billing/runs.csv", "/billing/month-closes.csv"):
        response = screens.get(url, {"month": month})
        assert response.status_code == 400, url
        assert response.content.decode() == f"month: {month_expected()}\n"


def test_list_filters_on_screens_with_valid_month(world, screens):
    payer = b.billed_payer(world.tenant)
    run = b.completed_run(world.tenant, [payer])
    response = screens.get("/billing/", {"month": "2026-10"})
    assert response.status_code == 200
    assert "error-filter-month" not in _text(response)
    assert f'href="/billing/runs/{run.pk}/"' in _text(response)
    csv = screens.get("/billing/runs.csv", {"month": "2026-10"})
    assert csv.status_code == 200
    assert screens.get("/billing/month-closes/", {"month": "2026-10"}).status_code == 200
