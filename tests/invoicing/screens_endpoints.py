"""Invoicing's staff screens in the permission matrix (SPEC 2, 9, 11).

Every screen of /invoicing/ for every role of tenant A, anonymously (a redirect to sign-in) and
as tenant B's owner (404 for A's objects, none of A's data in lists). Writes get fresh objects per
setup, so one role's success never blocks the next role's attempt.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from invoicing.models import InvoiceRequest, InvoiceRequestType, WorkCalendar
from invoicing.services.processing import bill_render_pdf
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import account, charges, request_type
from tests.permissions import Endpoint, register

VIEW, CREATE = S.INVOICING_VIEW, S.INVOICING_REQUEST_CREATE
APPROVE, MANAGE = S.INVOICING_REQUEST_APPROVE, S.INVOICING_TYPE_MANAGE
PAGE = frozenset({200})
_seq = itertools.count(1)


def _type(tenant, code: str, *, approval: bool) -> InvoiceRequestType:
    found = InvoiceRequestType.objects.filter(tenant=tenant, code=code).first()
    if found:
        return found
    t = request_type(tenant, code, approval=approval)
    t.work_calendar, _ = WorkCalendar.objects.get_or_create(
        tenant=tenant, name="Every day", defaults={"weekend_days": []}
    )
    t.save()
    return t


def _waiting(world) -> dict:
    """A fresh request waiting for approval, created by a system actor (anyone may approve)."""
    n = next(_seq)
    t = _type(world.tenant, "MAPP", approval=True)
    acc = account(world.tenant, f"PM-{n}")
    charges(acc, 1, day=timezone.localdate() - timedelta(days=1))
    r = invoice_request_create(actor=Actor.system_for(world.tenant), type=t, account=acc)
    return {"request": r.pk, "account": acc.pk, "number": acc.number, "type": t.code}


def _processed(world) -> dict:
    """A processed request with its bill and rendered PDF."""
    n = next(_seq)
    t = _type(world.tenant, "MNOW", approval=False)
    acc = account(world.tenant, f"PB-{n}")
    charges(acc, 2, day=timezone.localdate() - timedelta(days=1))
    r = invoice_request_create(actor=Actor.system_for(world.tenant), type=t, account=acc)
    from invoicing.services.processing import invoice_request_process

    r = invoice_request_process(actor=Actor.system_for(world.tenant), request_id=r.pk)
    bill_render_pdf(bill_id=r.bill_id)
    return {"request": r.pk, "bill": r.bill_id, "account": acc.pk, "number": acc.number}


def _calendar(world) -> dict:
    cal = WorkCalendar.objects.create(tenant=world.tenant, name=f"Cal {next(_seq)}")
    return {"calendar": cal.pk}


def _failed(world) -> dict:
    """A request that failed processing (as a crashed worker would leave it)."""
    ctx = _waiting(world)
    InvoiceRequest.objects.filter(pk=ctx["request"]).update(status="ERROR", error="matrix")
    return ctx


def _waiting_counted(world) -> dict:
    """A fresh waiting request and the overview's waiting counter as tenant A's owner reads it."""
    ctx = _waiting(world)
    n = InvoiceRequest.objects.filter(
        tenant=world.tenant, status=InvoiceRequest.Status.PENDING_APPROVAL
    ).count()
    return ctx | {"waiting": n}


def _new_form(world) -> dict:
    ctx = _waiting(world)
    return {"number": account(world.tenant, f"PN-{next(_seq)}").number, "type": ctx["type"]}


def _screen(name, url, scope, setup=lambda w: {}, **kw) -> Endpoint:
    kw.setdefault("success", PAGE)
    kw.setdefault("payer_scoped", True)  # a GET screen of payer-scoped data
    return Endpoint(f"screen invoicing {name}", "GET", url, scope, kind="screen", setup=setup, **kw)


register(
    _screen(
        "overview",
        lambda c: "/invoicing/",
        VIEW,
        _waiting_counted,
        # counters only: the waiting counter counts the setup's requests (>= 1); a member of
        # another payer, or of tenant B, reads 0 there
        marker=lambda c: f'id="count-waiting">{c["waiting"]}</span>',
    ),
    _screen(
        "approval queue",
        lambda c: "/invoicing/queue/",
        VIEW,
        _waiting,
        marker=lambda c: c["number"],
    ),
    _screen(
        "request list",
        lambda c: "/invoicing/requests/",
        VIEW,
        _waiting,
        marker=lambda c: c["number"],
    ),
    _screen(
        "request list CSV",
        lambda c: "/invoicing/requests.csv",
        VIEW,
        _waiting,
        marker=lambda c: c["number"],
    ),
    _screen("request form", lambda c: "/invoicing/requests/new/", CREATE, payer_scoped=False),
    _screen(
        "request preview",
        lambda c: f"/invoicing/requests/preview/?type={c['type']}&account={c['number']}",
        VIEW,
        _waiting,
        marker=lambda c: "preview-processing-date",
    ),
    _screen(
        "request detail",
        lambda c: f"/invoicing/requests/{c['request']}/",
        VIEW,
        _waiting,
        object_of_tenant=True,
    ),
    _screen(
        "account list",
        lambda c: "/invoicing/accounts/",
        VIEW,
        _waiting,
        marker=lambda c: c["number"],
    ),
    _screen(
        "account memberships tab",
        lambda c: f"/invoicing/accounts/{c['account']}/",
        VIEW,
        _waiting,
        object_of_tenant=True,
    ),
    _screen(
        "account log tab",
        lambda c: f"/invoicing/accounts/{c['account']}/?tab=log",
        VIEW,
        _waiting,
        object_of_tenant=True,
    ),
    _screen(
        "bill",
        lambda c: f"/invoicing/bills/{c['bill']}/",
        VIEW,
        _processed,
        object_of_tenant=True,
    ),
    _screen(
        "bill PDF status",
        lambda c: f"/invoicing/bills/{c['bill']}/pdf-status/",
        VIEW,
        _processed,
        object_of_tenant=True,
    ),
    _screen(
        "bill PDF",
        lambda c: f"/invoicing/bills/{c['bill']}/pdf/",
        VIEW,
        _processed,
        object_of_tenant=True,
    ),
    _screen("calendars", lambda c: "/invoicing/calendars/", VIEW, payer_scoped=False),
    _screen(
        "calendar",
        lambda c: f"/invoicing/calendars/{c['calendar']}/",
        VIEW,
        _calendar,
        object_of_tenant=True,
        payer_scoped=False,
    ),
    Endpoint(
        "screen invoicing request create",
        "POST",
        lambda c: "/invoicing/requests/new/",
        CREATE,
        kind="screen",
        setup=_new_form,
        data=lambda c: {"type": c["type"], "account": c["number"]},
        success=frozenset({302}),
    ),
    Endpoint(
        "screen invoicing request approve",
        "POST",
        lambda c: f"/invoicing/requests/{c['request']}/approve/",
        APPROVE,
        kind="screen",
        setup=_waiting,
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen invoicing request reject",
        "POST",
        lambda c: f"/invoicing/requests/{c['request']}/reject/",
        APPROVE,
        kind="screen",
        setup=_waiting,
        data=lambda c: {"reason": "duplicate"},
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen invoicing request cancel",
        "POST",
        lambda c: f"/invoicing/requests/{c['request']}/cancel/",
        CREATE,
        kind="screen",
        setup=_waiting,
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen invoicing calendar create",
        "POST",
        lambda c: "/invoicing/calendars/",
        MANAGE,
        kind="screen",
        data=lambda c: {"name": f"New {next(_seq)}", "weekend_days": ["SAT", "SUN"]},
        success=frozenset({302}),
    ),
    Endpoint(
        "screen invoicing calendar add holiday",
        "POST",
        lambda c: f"/invoicing/calendars/{c['calendar']}/",
        MANAGE,
        kind="screen",
        setup=_calendar,
        data=lambda c: {"action": "add", "day": "2026-12-24", "name": "Eve"},
        success=frozenset({302}),
        object_of_tenant=True,
    ),
    Endpoint(
        "screen invoicing request retry",
        "POST",
        lambda c: f"/invoicing/requests/{c['request']}/retry/",
        CREATE,
        kind="screen",
        setup=_failed,
        success=frozenset({302}),
        object_of_tenant=True,
    ),
)
