"""The invoicing overview counts only the requests and bills of the payers a member is granted
(SPEC 2, per-payer access): its counters and charts are rows of payers too (issue 17)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.models import TenantMembership
from core.services import object_access_grant
from invoicing.models import InvoiceRequest, WorkCalendar
from invoicing.services.processing import invoice_request_process
from invoicing.services.requests import invoice_request_create
from tests.invoicing.builders import account, charges, request_type

R = S.Role


def _type(tenant, code: str, *, approval: bool):
    t = request_type(tenant, code, approval=approval)
    t.work_calendar, _ = WorkCalendar.objects.get_or_create(
        tenant=tenant, name="Every day", defaults={"weekend_days": []}
    )
    t.save()
    return t


def _request(world, t, payer, number: str) -> InvoiceRequest:
    acc = account(world.tenant, number, payer=payer)
    charges(acc, 2, day=timezone.localdate() - timedelta(days=1))
    return invoice_request_create(actor=Actor.system_for(world.tenant), type=t, account=acc)


def _counter(body: str, text: str) -> int:
    found = re.search(r'<span class="count"[^>]*>([\d,]+)</span> ' + re.escape(text), body)
    assert found, text
    return int(found.group(1).replace(",", ""))


def _overview(world, role) -> str:
    c = Client()
    c.force_login(world.users[role])
    response = c.get("/invoicing/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_overview_counts_only_the_granted_payers_rows(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # given payer MINE with one waiting request, and payer THEIRS with two waiting, one in error
    # and one processed into a bill
    mine = Payer.objects.create(tenant=world.tenant, code="MINE", name="Mine")
    theirs = Payer.objects.create(tenant=world.tenant, code="THEIRS", name="Theirs")
    approve, now = (
        _type(world.tenant, "MAPP", approval=True),
        _type(world.tenant, "MNOW", approval=False),
    )
    _request(world, approve, mine, "A-M1")
    _request(world, approve, theirs, "A-T1")
    _request(world, approve, theirs, "A-T2")
    failed = _request(world, approve, theirs, "A-T3")
    InvoiceRequest.objects.filter(pk=failed.pk).update(status="ERROR", error="worker lost")
    billed = _request(world, now, theirs, "A-T4")
    invoice_request_process(actor=Actor.system_for(world.tenant), request_id=billed.pk)
    # and the viewer is granted payer MINE only
    membership = TenantMembership.objects.get(tenant=world.tenant, user=world.users[R.VIEWER])
    object_access_grant(actor=Actor.system_for(world.tenant), membership_id=membership.pk, obj=mine)

    # when the viewer and the owner (no grant: every payer) open the overview
    narrowed, everyone = _overview(world, R.VIEWER), _overview(world, R.OWNER)

    # then the viewer's counters and bars count MINE's one waiting request only
    assert _counter(narrowed, "waiting for approval") == 1
    assert _counter(narrowed, "in error") == 0
    assert 'data-key="PENDING_APPROVAL"' in narrowed
    assert 'data-key="ERROR"' not in narrowed and 'data-key="PROCESSED"' not in narrowed
    # and no bill of THEIRS is counted in the bills chart
    assert 'class="column-value">1<' not in narrowed
    # while the owner's count every payer's rows
    assert _counter(everyone, "waiting for approval") == 3
    assert _counter(everyone, "in error") == 1
    assert 'data-key="ERROR"' in everyone and 'data-key="PROCESSED"' in everyone
    assert 'class="column-value">1<' in everyone
