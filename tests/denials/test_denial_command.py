"""The denial_transition command (issue 14 item 9): one JSON line; clear errors, non-zero exit."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import scopes as S
from core.models import AuditEntry, OverrideRequest, TenantPolicy
from denials.models import Denial, PaymentApplication
from tests.denials.flow_builders import posted


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def run(*args) -> dict:
    out = io.StringIO()
    call_command("denial_transition", *args, stdout=out)
    [line] = out.getvalue().strip().splitlines()
    return json.loads(line)


def test_write_off_then_flip_back_from_the_command_line(world):
    denial = posted(world)["denied"]
    base = ["--tenant", "alpha", "--denial", str(denial.pk), "--user", "alpha-operations"]
    got = run(*base, "--to", "WRITTEN_OFF", "--reason", "lost")
    assert got == {"denial": denial.pk, "status": "WRITTEN_OFF", "override_request": None}
    assert PaymentApplication.objects.get(kind="WRITEOFF").created_by == world.users["OPERATIONS"]
    got = run(*base, "--to", "OPEN", "--flip", "--reason-code", "out_of_band", "--reason", "x")
    assert got == {"denial": denial.pk, "status": "OPEN", "override_request": None}
    flip = AuditEntry.objects.get(action="MANUAL_FLIP")
    assert flip.payload["requested_by"] == "alpha-operations"
    assert not PaymentApplication.objects.filter(kind="REVERSAL").exists()  # a flip moves no money


def test_reopen_under_dual_control_prints_the_waiting_request(world):
    denial = posted(world)["denied"]
    base = ["--tenant", "alpha", "--denial", str(denial.pk), "--user", "alpha-owner"]
    run(*base, "--to", "WRITTEN_OFF", "--reason", "lost")
    TenantPolicy.objects.update_or_create(
        tenant=world.tenant, defaults={"dual_control_scopes": [S.BILLING_DENIAL_WRITE]}
    )
    got = run(*base, "--to", "OPEN", "--reason", "proof found")
    request = OverrideRequest.objects.get()
    assert got == {"denial": denial.pk, "status": "WRITTEN_OFF", "override_request": request.pk}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "OPEN"], "allowed from here: IN_PROGRESS, RESOLVED, WRITTEN_OFF"),
        (["--to", "WRITTEN_OFF"], "reason"),
        (["--to", "VOIDED", "--flip", "--reason-code", "out_of_band", "--reason", "x"], "system"),
        (["--to", "RESOLVED", "--flip", "--reason", "x"], "--reason-code"),
    ],
)
def test_refusals_are_clear_errors(world, args, message):
    denial = posted(world)["denied"]
    base = ["--tenant", "alpha", "--denial", str(denial.pk), "--user", "alpha-owner"]
    with pytest.raises(CommandError) as err:
        run(*base, *args)
    assert message in str(err.value)
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"


def test_unknown_tenant_user_denial_and_missing_scope(world):
    denial = posted(world)["denied"]
    with pytest.raises(CommandError, match="tenant"):
        run("--tenant", "nope", "--denial", "1", "--user", "alpha-owner", "--to", "OPEN")
    with pytest.raises(CommandError, match="not a member"):
        run("--tenant", "alpha", "--denial", str(denial.pk), "--user", "beta-owner",
            "--to", "IN_PROGRESS")  # fmt: skip
    with pytest.raises(CommandError, match="does not exist"):
        run("--tenant", "alpha", "--denial", "999999", "--user", "alpha-owner",
            "--to", "IN_PROGRESS")  # fmt: skip
    with pytest.raises(CommandError):
        run("--tenant", "alpha", "--denial", str(denial.pk), "--user", "alpha-viewer",
            "--to", "IN_PROGRESS")  # fmt: skip
    assert Denial.objects.get(pk=denial.pk).status == "OPEN"
