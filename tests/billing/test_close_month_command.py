"""manage.py close_month: close a payer's month (and reopen it) from cron or an operator."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import MonthClose
from core import scopes as S
from core.months import month_expected
from core.services import tenant_policy_update
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _run(*args) -> dict:
    out = io.StringIO()
    call_command("close_month", "--tenant", "alpha", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def _fails(*args) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("close_month", "--tenant", "alpha", *args, stdout=io.StringIO())
    return str(exc.value)


def test_close_month_closes_and_reopens(world):
    p = b.billed_payer(world.tenant, members=2)
    run = sb.done_run(world.tenant, [p], package=False)

    out = _run("--payer", p.code, "--month", "2026-10", "--note", "month end")

    assert out == {
        "month_close": MonthClose.objects.get().pk,
        "payer": p.code,
        "month": "2026-10",
        "status": "CLOSED",
        "run": run.pk,
        "members": 2,
        "amount": "825.00",
        "open_exceptions": 0,
    }
    assert "is already closed" in _fails("--payer", p.code, "--month", "2026-10")
    assert "reason: say why" in _fails("--reopen", str(out["month_close"]))
    again = _run("--reopen", str(out["month_close"]), "--reason", "payer correction")
    assert again["status"] == "REOPENED"


def test_close_month_refuses_bad_input_and_dual_control_reopen(world):
    p = b.billed_payer(world.tenant)
    sb.done_run(world.tenant, [p], package=False)
    assert _fails("--payer", p.code, "--month", "Oct") == f"--month: {month_expected()}."
    assert _fails("--month", "2026-10").startswith("Name the payer and month")
    close = _run("--payer", p.code, "--month", "2026-10")

    owner = world.actor(S.Role.OWNER)
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_RUN_TRIGGER])
    message = _fails("--reopen", str(close["month_close"]), "--reason", "late file")
    assert message == "A dual-control override must be requested by a person."
    assert MonthClose.objects.get().status == "CLOSED"
