"""Invoicing's API endpoints in the permission matrix (SPEC 2, 5; issue 12 item 11).

Every setup builds fresh objects of tenant A (a new account, request or calendar each time), so
one role's success (an approval, a cancel, a create) never blocks the next role's attempt.
Requests set up for approval are created by the system (no user), so no role is their creator.
"""

from __future__ import annotations

import itertools

from django.core.files.base import ContentFile

from core import scopes as S
from core.actors import Actor
from invoicing.models import (
    Bill,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
    WorkCalendar,
)
from invoicing.services.processing import invoice_request_process
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import MON, account, charges, request_type
from tests.permissions import Endpoint, register

VIEW, CREATE = S.INVOICING_VIEW, S.INVOICING_REQUEST_CREATE
APPROVE, MANAGE = S.INVOICING_REQUEST_APPROVE, S.INVOICING_TYPE_MANAGE
OK, CREATED = frozenset({200}), frozenset({201})
API = "/api/invoicing"
_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


def _type(world, code: str, **kwargs) -> InvoiceRequestType:
    found = InvoiceRequestType.objects.filter(tenant=world.tenant, code=code).first()
    return found or request_type(world.tenant, code, **kwargs)


def _account(world) -> dict:
    acc = account(world.tenant, f"MX-{_n()}")
    m = Membership.objects.get(account=acc)
    return {"account": acc.pk, "number": acc.number, "membership": m.pk}


def _calendar(world) -> dict:
    cal = WorkCalendar.objects.create(tenant=world.tenant, name=f"MX calendar {_n()}")
    return {"calendar": cal.pk, "name": cal.name}


def _division(world) -> dict:
    from invoicing.models import Division

    div = Division.objects.create(tenant=world.tenant, code=f"MXD{_n()}")
    return {"division": div.pk, "code": div.code}


def _request_type(world) -> dict:
    t = request_type(world.tenant, f"MXT{_n()}")
    return {"type": t.pk, "code": t.code}


def _request(world, *, approval: bool) -> dict:
    ctx = _account(world)
    t = _type(world, "MXAPP" if approval else "MXNOW", approval=approval)
    r = invoice_request_create(
        actor=Actor.system_for(world.tenant),
        type=t,
        account=_acc(world, ctx),
        cutoff_date=MON,
        today=MON,
    )
    return {**ctx, "request": r.pk}


def _acc(world, ctx):
    from invoicing.models import Account

    return Account.objects.get(pk=ctx["account"])


def _waiting(world) -> dict:
    return _request(world, approval=True)


def _pending(world) -> dict:
    return _request(world, approval=False)


def _failed(world) -> dict:
    ctx = _pending(world)
    InvoiceRequest.objects.filter(pk=ctx["request"]).update(status="ERROR", error="matrix")
    return ctx


def _billed(world) -> dict:
    """A processed request whose bill has its PDF (a stand-in file: no rendering needed)."""
    ctx = _pending(world)
    charges(_acc(world, ctx), 1)
    r = invoice_request_process(actor=Actor.system_for(world.tenant), request_id=ctx["request"])
    bill = Bill.objects.get(pk=r.bill_id)
    bill.pdf.save(f"bill-{bill.pk}.pdf", ContentFile(b"%PDF-1.4 matrix"), save=True)
    charge = bill.charges.first()
    return {**ctx, "bill": bill.pk, "charge": charge.pk}


def _for_create(world) -> dict:
    ctx = _account(world)
    _type(world, "MXNOW")
    return ctx


def _number(ctx) -> str:
    return f'"{ctx["number"]}"'


_acc_url = lambda c: f"{API}/accounts/{c['account']}"  # noqa: E731
_mem_url = lambda c: f"{_acc_url(c)}/memberships/{c['membership']}"  # noqa: E731
_req_url = lambda c: f"{API}/requests/{c['request']}"  # noqa: E731

register(
    # calendars
    Endpoint(
        "api invoicing calendars list",
        "GET",
        lambda c: f"{API}/calendars",
        VIEW,
        setup=_calendar,
        success=OK,
        marker=lambda c: c["name"],
    ),
    Endpoint(
        "api invoicing calendar create",
        "POST",
        lambda c: f"{API}/calendars",
        MANAGE,
        data=lambda c: {"name": f"MX new {_n()}"},
        success=CREATED,
    ),
    Endpoint(
        "api invoicing calendar detail",
        "GET",
        lambda c: f"{API}/calendars/{c['calendar']}",
        VIEW,
        setup=_calendar,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing calendar update",
        "PATCH",
        lambda c: f"{API}/calendars/{c['calendar']}",
        MANAGE,
        setup=_calendar,
        data=lambda c: {"weekend_days": ["FRI", "SAT"]},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing calendar import holidays",
        "POST",
        lambda c: f"{API}/calendars/{c['calendar']}/import-holidays",
        MANAGE,
        setup=_calendar,
        data=lambda c: {"country": "US", "years": [2026]},
        success=OK,
        object_of_tenant=True,
    ),
    # divisions
    Endpoint(
        "api invoicing divisions list",
        "GET",
        lambda c: f"{API}/divisions",
        VIEW,
        setup=_division,
        success=OK,
        marker=lambda c: f'"{c["code"]}"',
    ),
    Endpoint(
        "api invoicing division create",
        "POST",
        lambda c: f"{API}/divisions",
        MANAGE,
        data=lambda c: {"code": f"MXN{_n()}"},
        success=CREATED,
    ),
    Endpoint(
        "api invoicing division detail",
        "GET",
        lambda c: f"{API}/divisions/{c['division']}",
        VIEW,
        setup=_division,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing division update",
        "PATCH",
        lambda c: f"{API}/divisions/{c['division']}",
        MANAGE,
        setup=_division,
        data=lambda c: {"name": "renamed"},
        success=OK,
        object_of_tenant=True,
    ),
    # request types
    Endpoint(
        "api invoicing request types list",
        "GET",
        lambda c: f"{API}/request-types",
        VIEW,
        setup=_request_type,
        success=OK,
        marker=lambda c: f'"{c["code"]}"',
    ),
    Endpoint(
        "api invoicing request type create",
        "POST",
        lambda c: f"{API}/request-types",
        MANAGE,
        data=lambda c: {
            "code": f"MXC{_n()}",
            "invoice_mode": "MANUAL",
            "bill_generation": "TRIAL",
        },
        success=CREATED,
    ),
    Endpoint(
        "api invoicing request type detail",
        "GET",
        lambda c: f"{API}/request-types/{c['type']}",
        VIEW,
        setup=_request_type,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing request type update",
        "PATCH",
        lambda c: f"{API}/request-types/{c['type']}",
        MANAGE,
        setup=_request_type,
        data=lambda c: {"wait_days": 1},
        success=OK,
        object_of_tenant=True,
    ),
    # accounts, memberships
    Endpoint(
        "api invoicing accounts list",
        "GET",
        lambda c: f"{API}/accounts",
        VIEW,
        setup=_account,
        success=OK,
        marker=_number,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing account create",
        "POST",
        lambda c: f"{API}/accounts",
        MANAGE,
        data=lambda c: {"number": f"MXA-{_n()}", "bill_cycle_day": 15},
        success=CREATED,
    ),
    Endpoint(
        "api invoicing account detail",
        "GET",
        _acc_url,
        VIEW,
        setup=_account,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing account update",
        "PATCH",
        _acc_url,
        MANAGE,
        setup=_account,
        data=lambda c: {"bill_cycle_day": 3},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing memberships list",
        "GET",
        lambda c: f"{_acc_url(c)}/memberships",
        VIEW,
        setup=_account,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing membership create",
        "POST",
        lambda c: f"{_acc_url(c)}/memberships",
        MANAGE,
        setup=_account,
        data=lambda c: {"external_id": f"MXM-{_n()}", "kind": "GROUP"},
        success=CREATED,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing membership detail",
        "GET",
        _mem_url,
        VIEW,
        setup=_account,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing membership update",
        "PATCH",
        _mem_url,
        MANAGE,
        setup=_account,
        data=lambda c: {"status": "TERMINATED"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing membership characteristic set",
        "POST",
        lambda c: f"{_mem_url(c)}/characteristics",
        MANAGE,
        setup=_account,
        data=lambda c: {"type": "INVRACTE", "value": "N", "effective_from": "2026-06-01"},
        success=CREATED,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing membership log",
        "GET",
        lambda c: f"{_mem_url(c)}/log",
        VIEW,
        setup=_pending,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    # charges
    Endpoint(
        "api invoicing charges list",
        "GET",
        lambda c: f"{API}/charges",
        VIEW,
        setup=_billed,
        success=OK,
        marker=_number,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing charge detail",
        "GET",
        lambda c: f"{API}/charges/{c['charge']}",
        VIEW,
        setup=_billed,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    # invoice requests
    Endpoint(
        "api invoicing requests list",
        "GET",
        lambda c: f"{API}/requests",
        VIEW,
        setup=_pending,
        success=OK,
        marker=_number,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing request create",
        "POST",
        lambda c: f"{API}/requests",
        CREATE,
        setup=_for_create,
        data=lambda c: {"type": "MXNOW", "account": c["number"], "cutoff_date": "2026-03-02"},
        success=CREATED,
    ),
    Endpoint(
        "api invoicing request preview",
        "GET",
        lambda c: (
            f"{API}/requests/preview?type=MXNOW&account={c['number']}&business_date=2026-03-02"
        ),
        VIEW,
        setup=_for_create,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing request detail",
        "GET",
        _req_url,
        VIEW,
        setup=_pending,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing request approve",
        "POST",
        lambda c: f"{_req_url(c)}/approve",
        APPROVE,
        setup=_waiting,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing request reject",
        "POST",
        lambda c: f"{_req_url(c)}/reject",
        APPROVE,
        setup=_waiting,
        data=lambda c: {"reason": "matrix"},
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing request cancel",
        "POST",
        lambda c: f"{_req_url(c)}/cancel",
        CREATE,
        setup=_waiting,
        success=OK,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invoicing request retry",
        "POST",
        lambda c: f"{_req_url(c)}/retry",
        CREATE,
        setup=_failed,
        success=OK,
        object_of_tenant=True,
    ),
    # bills
    Endpoint(
        "api invoicing bills list",
        "GET",
        lambda c: f"{API}/bills",
        VIEW,
        setup=_billed,
        success=OK,
        marker=_number,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing bill detail",
        "GET",
        lambda c: f"{API}/bills/{c['bill']}",
        VIEW,
        setup=_billed,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
    Endpoint(
        "api invoicing bill pdf",
        "GET",
        lambda c: f"{API}/bills/{c['bill']}/pdf",
        VIEW,
        setup=_billed,
        success=OK,
        object_of_tenant=True,
        payer_scoped=True,
    ),
)
