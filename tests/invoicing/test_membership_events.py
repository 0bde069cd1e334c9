"""MEMBERSHIP_EVENTS uploads (issue 12, item 10): events change memberships, leave a Log line and
give individual memberships' accounts an AUTOMATIC request with the SPEC 5 dates.

Dates worked by hand (weekends off, no holidays), business date D = Friday 2026-03-06, type
AUTO with wait_days 1 and threshold_days 5:
P = next working day on or after Sat 03-07 = Mon 2026-03-09.
A-100, bill_cycle_day 15: B = 03-15, B - P = 6 days > 5 -> cutoff = bill date = 2026-03-15.
A-200, bill_cycle_day 14: B = 03-14, B - P = 5 days, not > 5 -> cutoff = next cycle 2026-04-14.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from core import scopes as S
from ingestion import services
from ingestion.models import Batch, BatchRecord
from invoicing.models import InvoiceRequest, Membership, MembershipLog
from tests.invoicing.builders import account, request_type

KIND = "MEMBERSHIP_EVENTS"
HEADER = ("account_number", "membership_id", "event", "event_date", "business_date")
D = "2026-03-06"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def owner(world):
    return world.actor(S.Role.OWNER)


@pytest.fixture
def accounts(world):
    """A-100 (cycle day 15) and A-200 (cycle day 14), each with an eligible membership."""
    return account(world.tenant, "A-100", bill_cycle_day=15), account(
        world.tenant, "A-200", bill_cycle_day=14
    )


@pytest.fixture
def auto(world):
    return request_type(world.tenant, "AUTO", mode="AUTOMATIC", wait_days=1, threshold_days=5)


def events_csv(*rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def ingest(actor, content: bytes) -> Batch:
    batch = services.batch_ingest_file(
        actor=actor, kind=KIND, filename="events.csv", content=content, enqueue=False
    )
    assert batch.status == Batch.Status.PROCESSING, batch.failure
    return services.batch_run_inline(batch_id=batch.pk)


def records(batch) -> dict[int, tuple[str, str]]:
    return {
        r.row_number: (r.status, r.error_detail)
        for r in BatchRecord.objects.filter(batch=batch).order_by("row_number")
    }


def status(number: str, external_id: str) -> str:
    return Membership.objects.get(account__number=number, external_id=external_id).status


def log_events(number: str, external_id: str) -> list[str]:
    return list(
        MembershipLog.objects.filter(
            membership__account__number=number, membership__external_id=external_id
        )
        .order_by("id")
        .values_list("event", flat=True)
    )


def requests() -> list[tuple]:
    return list(
        InvoiceRequest.objects.order_by("account__number").values_list(
            "account__number",
            "type__code",
            "origin",
            "status",
            "processing_date",
            "cutoff_date",
            "bill_date",
            "accounting_date",
        )
    )


def test_events_change_memberships_log_and_create_automatic_requests(owner, accounts, auto):
    # when a file terminates A-100's membership, enrols a new one on A-100, reinstates A-200's
    batch = ingest(
        owner,
        events_csv(
            ("A-100", "MB-A-100", "TERMINATE", "2026-03-05", D),
            ("A-100", "MB-NEW", "ENROLL", "2026-03-06", D),
            ("A-200", "MB-A-200", "REINSTATE", "2026-03-01", D),
        ),
    )

    # then every row loaded and the memberships have their new status
    assert [s for s, _ in records(batch).values()] == ["SUCCESS"] * 3
    assert status("A-100", "MB-A-100") == "TERMINATED"
    assert status("A-200", "MB-A-200") == "ENROLLED"
    # and the ENROLL of an id A-100 did not have created it as an individual membership
    new = Membership.objects.get(account__number="A-100", external_id="MB-NEW")
    assert (new.kind, new.status) == ("INDIVIDUAL", "ENROLLED")
    # and each account has one AUTOMATIC request, dated by the algorithm
    assert requests() == [
        (
            "A-100",
            "AUTO",
            "AUTOMATIC",
            "PENDING",
            date(2026, 3, 9),
            date(2026, 3, 15),
            date(2026, 3, 15),
            date(2026, 3, 9),
        ),
        (
            "A-200",
            "AUTO",
            "AUTOMATIC",
            "PENDING",
            date(2026, 3, 9),
            date(2026, 4, 14),
            date(2026, 4, 14),
            date(2026, 3, 9),
        ),
    ]
    # and the Log tab tells the event, the status change and the request
    line = MembershipLog.objects.get(
        membership__external_id="MB-A-100", event="MEMBERSHIP_TERMINATE"
    )
    assert line.message == (
        f"TERMINATE effective 2026-03-05 (business date 2026-03-06): ENROLLED -> TERMINATED; "
        f"ingestion batch {batch.pk}, row 2."
    )
    a100 = InvoiceRequest.objects.get(account__number="A-100")
    assert log_events("A-100", "MB-A-100") == [
        "MEMBERSHIP_TERMINATE",
        "INVOICE_REQUEST_CREATED",
        "AUTOMATIC_REQUEST_CREATED",
    ]
    assert log_events("A-100", "MB-NEW") == ["MEMBERSHIP_ENROLL", "AUTOMATIC_REQUEST_CREATED"]
    assert f"Automatic invoice request {a100.pk} (AUTO) created" in (
        MembershipLog.objects.get(membership=new, event="AUTOMATIC_REQUEST_CREATED").message
    )


def test_unknown_account_or_membership_is_an_error_naming_it(owner, accounts, auto):
    batch = ingest(
        owner,
        events_csv(
            ("A-999", "MB-A-100", "TERMINATE", "2026-03-05", D),
            ("A-100", "MB-GHOST", "CANCEL", "2026-03-05", D),
            ("A-100", "MB-A-100", "SUSPEND", "2026-03-05", D),
            ("A-100", "MB-A-100", "TERMINATE", "2026-03-32", D),
        ),
    )
    assert records(batch) == {
        2: ("ERROR", "row 2: account_number: no account 'A-999' in this tenant"),
        3: (
            "ERROR",
            "row 3: membership_id: account A-100 has no membership 'MB-GHOST' "
            "(only ENROLL creates one)",
        ),
        4: (
            "ERROR",
            "row 4: event: expected one of ENROLL, TERMINATE, REINSTATE, CANCEL, found 'SUSPEND'",
        ),
        5: (
            "ERROR",
            "row 5: event_date: expected YYYY-MM-DD with a year from 2000 to "
            f"{date.today().year + 2}, found '2026-03-32'",
        ),
    }
    # and nothing changed
    assert status("A-100", "MB-A-100") == "ENROLLED"
    assert not Membership.objects.filter(external_id="MB-GHOST").exists()
    assert MembershipLog.objects.count() == 0
    assert InvoiceRequest.objects.count() == 0


def test_same_file_again_changes_nothing_and_a_later_event_joins_the_request(owner, accounts, auto):
    # given a loaded termination
    row = ("A-100", "MB-A-100", "TERMINATE", "2026-03-05", D)
    ingest(owner, events_csv(row))

    # when the same file comes again, then its row is SKIPPED and no second request is made
    again = ingest(owner, events_csv(row))
    assert records(again)[2][0] == "SKIPPED"
    assert InvoiceRequest.objects.count() == 1

    # when a reinstatement of the same business day arrives
    ingest(owner, events_csv(("A-100", "MB-A-100", "REINSTATE", "2026-03-06", D)))

    # then it changes the status and notes the request already made for that day
    assert status("A-100", "MB-A-100") == "ENROLLED"
    assert InvoiceRequest.objects.count() == 1
    assert log_events("A-100", "MB-A-100")[-2:] == [
        "MEMBERSHIP_REINSTATE",
        "AUTOMATIC_REQUEST_EXISTS",
    ]


def test_no_automatic_type_changes_status_without_requests(owner, accounts):
    ingest(owner, events_csv(("A-100", "MB-A-100", "CANCEL", "2026-03-05", D)))
    assert status("A-100", "MB-A-100") == "CANCELLED"
    assert log_events("A-100", "MB-A-100") == ["MEMBERSHIP_CANCEL"]
    assert InvoiceRequest.objects.count() == 0


def test_group_membership_event_makes_no_request(world, owner, accounts, auto):
    Membership.objects.create(
        tenant=world.tenant, account=accounts[0], external_id="GRP-1", kind="GROUP"
    )
    ingest(owner, events_csv(("A-100", "GRP-1", "TERMINATE", "2026-03-05", D)))
    assert status("A-100", "GRP-1") == "TERMINATED"
    assert InvoiceRequest.objects.count() == 0


def test_ineligible_account_gets_the_event_and_a_log_line_not_a_request(world, owner, auto):
    account(world.tenant, "A-300", eligible=False)
    batch = ingest(owner, events_csv(("A-300", "MB-A-300", "TERMINATE", "2026-03-05", D)))
    assert records(batch)[2][0] == "SUCCESS"
    assert status("A-300", "MB-A-300") == "TERMINATED"
    assert InvoiceRequest.objects.count() == 0
    refused = MembershipLog.objects.get(event="AUTOMATIC_REQUEST_REFUSED")
    assert refused.message.startswith(
        "No automatic invoice request (AUTO) for business date 2026-03-06: Account A-300 is "
        "not eligible"
    )
    assert "INVRACTE" in refused.message
