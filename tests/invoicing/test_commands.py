"""Commands: one JSON line each; refusals exit 1 with a one-line reason."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import scopes as S
from invoicing.models import InvoiceRequest
from tests.invoicing.builders import account, charges, request_type


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def run(*args) -> dict:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def refused(*args) -> str:
    with pytest.raises(CommandError) as err:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(err.value)
    assert "\n" not in message
    return message


def test_preview_prints_dates_and_creates_nothing(world):
    request_type(world.tenant, "MREG", wait_days=5)
    account(world.tenant, "A-1")
    out = run(
        "invoice_request_preview",
        "--tenant=alpha",
        "--type=MREG",
        "--account=A-1",
        "--business-date=2026-03-02",
    )
    assert out == {
        "processing_date": "2026-03-09",
        "cutoff_date": "2026-03-02",
        "bill_date": "2026-03-02",
        "accounting_date": "2026-03-09",
        "processing_mode": "ONLINE",
    }
    assert InvoiceRequest.objects.count() == 0


def test_preview_refuses_a_bad_date(world):
    request_type(world.tenant, "MREG")
    account(world.tenant, "A-1")
    msg = refused(
        "invoice_request_preview",
        "--tenant=alpha",
        "--type=MREG",
        "--account=A-1",
        "--business-date=2026-02-30",
    )
    assert msg.startswith("--business-date: expected YYYY-MM-DD")


def test_create_approve_and_process_flow(world, django_capture_on_commit_callbacks):
    # given an approval type and an account with 2 charges
    request_type(world.tenant, "MAPP", approval=True)
    charges(account(world.tenant, "A-1"), 2)
    creator = world.users[S.Role.BILLING_MANAGER].username
    created = run(
        "create_invoice_request",
        "--tenant=alpha",
        "--type=MAPP",
        "--account=A-1",
        f"--user={creator}",
        "--cutoff=2026-03-02",
        "--bill-date=2026-03-05",
        "--accounting-date=2026-03-02",
        "--today=2026-03-02",
    )
    assert created == {
        "request": created["request"],
        "status": "PENDING_APPROVAL",
        "processing_date": "2026-03-02",
        "processing_mode": "ONLINE",
        "bill": None,
    }
    rid = str(created["request"])

    # self-approval is refused by the command
    msg = refused(
        "approve_invoice_request", "--tenant=alpha", f"--request={rid}", f"--user={creator}"
    )
    assert "differ from the creator" in msg

    # another approver: approved, and (due today) processed at once
    with django_capture_on_commit_callbacks(execute=True):
        approved = run(
            "approve_invoice_request",
            "--tenant=alpha",
            f"--request={rid}",
            f"--user={world.users[S.Role.OWNER].username}",
        )
    assert approved["status"] in ("PENDING", "PROCESSED")
    assert approved["approved_by"] == world.users[S.Role.OWNER].username


def test_create_processed_at_once_reports_the_bill(world, django_capture_on_commit_callbacks):
    request_type(world.tenant, "MREG")
    charges(account(world.tenant, "A-1"), 3, amount="1.10")
    with django_capture_on_commit_callbacks(execute=True):
        created = run(
            "create_invoice_request",
            "--tenant=alpha",
            "--type=MREG",
            "--account=A-1",
            f"--user={world.users[S.Role.OPERATIONS].username}",
            # a working day (a Thursday): on a weekend the request would be due on Monday
            "--today=2026-12-03",
            "--cutoff=2026-12-03",
        )
    # the task ran at commit; the command reads the request after the commit
    request = InvoiceRequest.objects.get(pk=created["request"])
    assert request.status == "PROCESSED"
    assert request.bill.line_count == 3 and str(request.bill.total) == "3.30"


def test_create_refuses_an_ineligible_account(world):
    request_type(world.tenant, "MREG")
    account(world.tenant, "A-2", eligible=False)
    msg = refused(
        "create_invoice_request",
        "--tenant=alpha",
        "--type=MREG",
        "--account=A-2",
        f"--user={world.users[S.Role.OPERATIONS].username}",
        "--today=2026-03-02",
    )
    assert "INVRACTE" in msg and "MB-A-2" in msg


def test_reject_and_process_commands(world):
    request_type(world.tenant, "MAPP", approval=True)
    request_type(world.tenant, "MDEF", defer=0, wait_days=1)
    charges(account(world.tenant, "A-1"), 1)
    ops = world.users[S.Role.OPERATIONS].username
    manager = world.users[S.Role.BILLING_MANAGER].username
    first = run(
        "create_invoice_request",
        "--tenant=alpha",
        "--type=MAPP",
        "--account=A-1",
        f"--user={ops}",
        "--today=2026-03-02",
    )
    msg = refused(
        "reject_invoice_request",
        "--tenant=alpha",
        f"--request={first['request']}",
        f"--user={manager}",
        "--reason= ",
    )
    assert "reason" in msg.lower()
    rejected = run(
        "reject_invoice_request",
        "--tenant=alpha",
        f"--request={first['request']}",
        f"--user={manager}",
        "--reason=duplicate",
    )
    assert rejected == {"request": first["request"], "status": "REJECTED", "reason": "duplicate"}

    deferred = run(
        "create_invoice_request",
        "--tenant=alpha",
        "--type=MDEF",
        "--account=A-1",
        f"--user={ops}",
        "--today=2026-03-02",
    )
    assert deferred["processing_mode"] == "DEFERRED" and deferred["processing_date"] == "2026-03-03"
    nothing = run("process_invoice_requests", "--tenant=alpha", "--business-date=2026-03-02")
    assert nothing == {"processed": [], "errors": []}
    done = run("process_invoice_requests", "--tenant=alpha", "--business-date=2026-03-03")
    bill_id = InvoiceRequest.objects.get(pk=deferred["request"]).bill_id
    assert done == {
        "processed": [
            {
                "request": deferred["request"],
                "bill": bill_id,
                "kind": "REGULAR",
                "lines": 1,
                "total": "10.00",
            }
        ],
        "errors": [],
    }


def test_refusal_exits_1_with_one_line_on_stderr(world, capsys):
    from invoicing.management.commands.process_invoice_requests import Command

    argv = ["manage.py", "process_invoice_requests", "--tenant=alpha", "--business-date=2026-13-01"]
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(argv)
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().count("\n") == 0 and "--business-date" in captured.err
