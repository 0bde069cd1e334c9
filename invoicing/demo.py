"""Demo data for invoicing (issue 12, build item 13), in two parts around billing's runs.

`invoicing-setup` (order 15, after billing's payers, before its runs): a US calendar with the
federal holidays (observed days included) through the same configuration loader operators use,
a division, accounts (two linked to the demo payers, so completed demo runs become charges on
them), memberships with INVRACTE `Y` and `N`, one request type per allowed combination, and
charges typed in or loaded from a file (so bills have lines whatever the runs produced).

`invoicing-requests` (order 30, after the runs): requests made through the services as people
would: demo-ops creates, demo-manager approves (four-eyes), a regular bill is posted, a trial
bill is cut, two requests wait in the approval queue, a deferred and an automatic one wait for
their processing date.

Both are idempotent: objects are matched by natural key, a request step is skipped when its
account already has a request of that type.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant
from core.transitions import state_reload

CALENDAR = "US federal"
DIVISION = "EAST"
CHAR = "INVRACTE"

# Request types: one per allowed combination (SPEC 5).
T_APPROVAL = "MAN-REG-APPROVAL"
T_DIRECT = "MAN-REG"
T_TRIAL = "MAN-TRIAL"
T_AUTO = "AUTO-REG"
DEFER_AT = 20  # MAN-REG requests with more unbilled charges than this are processed overnight

# (number, name, bill cycle day, payer, INVRACTE of its individual membership, demo charges)
ACCOUNTS = [
    ("DEMO-1001", "Northwind employer group", 5, "NORTHWIND", "Y", 4),
    ("DEMO-1002", "Blue Peak employer group", 12, "BLUEPEAK", "Y", 3),
    ("DEMO-1003", "Harbor Street Clinic", 1, None, "Y", 6),
    ("DEMO-1004", "Lakeside Family Practice", 15, None, "Y", 5),
    ("DEMO-1005", "Orchard Dental (not eligible)", 20, None, "N", 2),
    ("DEMO-1006", "Summit Care Network", 28, None, "Y", DEFER_AT + 5),
    ("DEMO-1007", "Riverbend Home Health", 10, None, "Y", 3),
]
SERVICES = ["Office visit", "Lab panel", "Care management fee", "Imaging", "Premium adjustment"]


def demo_config(today: date) -> dict:
    """The invoicing configuration of the demo tenant, in the operators' file shape."""
    since = "2024-01-01"  # fixed, so a reload in a later month changes nothing
    accounts = []
    for number, name, cycle, payer, flag, _ in ACCOUNTS:
        memberships = [
            {
                "external_id": f"{number}-I1",
                "kind": "INDIVIDUAL",
                "status": "ENROLLED",
                "characteristics": [{"type": CHAR, "value": flag, "effective_from": since}],
            },
            {"external_id": f"{number}-G1", "kind": "GROUP", "status": "ENROLLED"},
        ]
        accounts.append(
            {
                "number": number,
                "name": name,
                "bill_cycle_day": cycle,
                "division": DIVISION,
                "payer": payer,
                "memberships": memberships,
            }
        )
    common = {"wait_days": 0, "threshold_days": 0, "work_calendar": None}
    return {
        "calendars": [
            {
                "name": CALENDAR,
                "weekend_days": ["SAT", "SUN"],
                "holidays_from": {"country": "US", "years": [today.year, today.year + 1]},
            }
        ],
        "divisions": [{"code": DIVISION, "work_calendar": CALENDAR}],
        "request_types": [
            {
                **common,
                "code": T_APPROVAL,
                "invoice_mode": "MANUAL",
                "bill_generation": "REGULAR",
                "approval_required": True,
                "defer_charge_count": None,
            },
            {
                **common,
                "code": T_DIRECT,
                "invoice_mode": "MANUAL",
                "bill_generation": "REGULAR",
                "approval_required": False,
                "defer_charge_count": DEFER_AT,
            },
            {
                **common,
                "code": T_TRIAL,
                "invoice_mode": "MANUAL",
                "bill_generation": "TRIAL",
                "approval_required": False,
                "defer_charge_count": None,
            },
            {
                **common,
                "code": T_AUTO,
                "invoice_mode": "AUTOMATIC",
                "bill_generation": "REGULAR",
                "approval_required": False,
                "defer_charge_count": None,
                "wait_days": 2,
                "threshold_days": 5,
            },
        ],
        "feature": {"invoice_request_eligibility_char_type": CHAR},
        "accounts": accounts,
    }


def _demo_charges(tenant: Tenant, today: date) -> int:
    """Charges typed in (MANUAL) and from a charges file (CSV), dated in the last two months."""
    from invoicing.models import Account, BillableCharge

    accounts = {a.number: a for a in Account.objects.filter(tenant=tenant)}
    first = today.replace(day=1)
    wanted = []
    for number, _, _, _, _, count in ACCOUNTS:
        for n in range(1, count + 1):
            csv = n % 2 == 0
            wanted.append(
                BillableCharge(
                    tenant=tenant,
                    account=accounts[number],
                    external_id=f"{number}-C{n:03d}",
                    charge_date=first - timedelta(days=3 * n),
                    amount=Decimal(40 + 17 * n % 260) + Decimal("0.50") * (n % 2),
                    description=SERVICES[n % len(SERVICES)],
                    source=BillableCharge.Source.CSV if csv else BillableCharge.Source.MANUAL,
                    source_ref=f"demo-charges.csv:{number}:{n}" if csv else "",
                )
            )
    have = set(
        BillableCharge.objects.filter(
            tenant=tenant, external_id__in=[c.external_id for c in wanted]
        ).values_list("external_id", flat=True)
    )
    new = [c for c in wanted if c.external_id not in have]
    BillableCharge.objects.bulk_create(new)
    return len(new)


def load_invoicing_setup(tenant: Tenant) -> str:
    """Calendar, division, types, accounts, memberships (configuration loader) and charges."""
    from invoicing.services.config import invoicing_config_load

    today = date.today()
    with transaction.atomic():
        counts = invoicing_config_load(actor=Actor.system_for(tenant), data=demo_config(today))
        charges = _demo_charges(tenant, today)
    created = {kind: c.get("created", 0) for kind, c in counts.items()}
    if not any(created.values()) and not charges:
        return "already loaded"
    return (
        f"{created.get('accounts', 0)} accounts, {created.get('request_types', 0)} request "
        f"types, {created.get('holidays', 0)} holidays, {charges} charges"
    )


def _person(tenant: Tenant, username: str) -> Actor:
    return Actor(tenant=tenant, user=get_user_model().objects.get(username=username))


def _last_working_day(tenant: Tenant, today: date) -> date:
    """Today, or the last working day before it on the demo calendar (for processed requests)."""
    from invoicing import dates
    from invoicing.models import WorkCalendar
    from invoicing.services.requests import work_calendar_dates

    cal = work_calendar_dates(WorkCalendar.objects.get(tenant=tenant, name=CALENDAR))
    day = today
    while not dates.is_working_day(day, cal):
        day -= timedelta(days=1)
    return day


def load_invoicing_requests(tenant: Tenant) -> str:
    """Requests through the services: processed regular and trial bills, a queue to approve."""
    from invoicing.models import Account, InvoiceRequest, InvoiceRequestType
    from invoicing.services import processing, requests

    ops, manager = _person(tenant, "demo-ops"), _person(tenant, "demo-manager")
    system = Actor.system_for(tenant)
    types = {t.code: t for t in InvoiceRequestType.objects.filter(tenant=tenant)}
    accounts = {a.number: a for a in Account.objects.filter(tenant=tenant)}
    today = date.today()
    worked = _last_working_day(tenant, today)
    done = []

    def step(number: str, type_code: str, make) -> None:
        account, request_type = accounts[number], types[type_code]
        if InvoiceRequest.objects.filter(account=account, type=request_type).exists():
            return
        request = make(account, request_type)
        state_reload(request)
        done.append(f"{number} {type_code} {request.status}")

    def regular(account, request_type):
        # Four-eyes: demo-ops asks, demo-manager approves, then the bill is cut.
        made = requests.invoice_request_create(
            actor=ops, type=request_type, account=account, today=worked
        )
        requests.invoice_request_approve(actor=manager, request_id=made.pk, today=worked)
        return processing.invoice_request_process(
            actor=ops, request_id=made.pk, business_date=today
        )

    def trial(account, request_type):
        made = requests.invoice_request_create(
            actor=ops, type=request_type, account=account, today=worked
        )
        return processing.invoice_request_process(
            actor=ops, request_id=made.pk, business_date=today
        )

    def waiting(account, request_type):
        return requests.invoice_request_create(
            actor=ops, type=request_type, account=account, today=today
        )

    def automatic(account, request_type):
        return requests.invoice_request_create_automatic(
            actor=system, type=request_type, account=account, business_date=today
        )

    step("DEMO-1003", T_APPROVAL, regular)
    step("DEMO-1004", T_TRIAL, trial)
    step("DEMO-1001", T_APPROVAL, waiting)
    step("DEMO-1002", T_APPROVAL, waiting)
    step("DEMO-1006", T_DIRECT, waiting)  # more charges than the defer count: DEFERRED
    step("DEMO-1007", T_AUTO, automatic)
    return "; ".join(done) or "already loaded"


def register() -> None:
    """Add invoicing's part of the demo (setup before billing's runs, requests after)."""
    register_demo_loader("invoicing-setup", 15, load_invoicing_setup)
    register_demo_loader("invoicing-requests", 30, load_invoicing_requests)
