"""The denial screens' buttons (issue 14 items 1, 2, 7): assign to me, bulk work and write-off
with each outcome reported, work / write off / reopen on the detail with the balance moving, the
manual flip (refused with the allowed moves, or audited MANUAL_FLIP in its own colour) and a
reopen waiting under dual control."""

from __future__ import annotations

from decimal import Decimal

from core import scopes as S
from core.models import AuditEntry, OverrideRequest
from core.overrides import override_request_approve
from core.services import tenant_policy_update
from denials.balances import with_amounts
from denials.models import Claim, Denial
from tests.denials import screens_builders as sb

OWNER, ADMIN, OPS, VIEWER = S.Role.OWNER, S.Role.ADMIN, S.Role.OPERATIONS, S.Role.VIEWER
D = Decimal


def _text(response) -> str:
    return response.content.decode()


def _balance(d: Denial) -> Decimal:
    return with_amounts(Claim.objects.filter(pk=d.claim_id)).get().balance


def _status(d: Denial) -> str:
    return Denial.objects.get(pk=d.pk).status


def test_assign_to_me_from_the_queue(world):
    # given an unassigned open denial
    d = sb.denial(world.tenant)
    client = world.client(OPS)
    # when the operations member assigns it to themself
    page = client.post(f"/claims/denials/{d.pk}/assign-me/", {"next": "/claims/denials/"})
    # then it is theirs, still open, and the queue filtered on "me" lists it
    assert page.status_code == 302
    d.refresh_from_db()
    assert (d.assignee, d.status) == (world.users[OPS], Denial.Status.OPEN)
    html = _text(client.get("/claims/denials/?assignee=me"))
    assert f'id="denial-row-{d.pk}"' in html
    assert "is assigned to you" in html


def test_viewer_may_not_assign_or_act(world):
    d = sb.denial(world.tenant)
    client = world.client(VIEWER)
    assert client.post(f"/claims/denials/{d.pk}/assign-me/").status_code == 403
    assert client.post(f"/claims/denials/{d.pk}/work/").status_code == 403
    assert (
        client.post("/claims/denials/bulk/", {"action": "work", "denial": [d.pk]}).status_code
        == 403
    )
    assert _status(d) == Denial.Status.OPEN


def test_bulk_work_reports_each_outcome_one_refused(world):
    # given two open denials and one already written off
    t = world.tenant
    a, b = sb.denial(t), sb.denial(t)
    c = sb.written_off(t, world.actor(OWNER))
    client = world.client(OPS)
    # when all three are worked in bulk
    page = client.post(
        "/claims/denials/bulk/",
        {"action": "work", "denial": [a.pk, b.pk, c.pk], "next": "/claims/denials/"},
        follow=True,
    )
    html = _text(page)
    # then the two open ones are in progress, assigned to the worker, the other untouched
    assert (_status(a), _status(b), _status(c)) == ("IN_PROGRESS", "IN_PROGRESS", "WRITTEN_OFF")
    assert Denial.objects.get(pk=a.pk).assignee == world.users[OPS]
    # and each outcome is reported
    assert "Work: 2 of 3 denials done, 1 refused." in html
    assert f"Denial {a.pk}: in progress." in html
    assert f"Denial {b.pk}: in progress." in html
    assert f"Denial {c.pk}: refused:" in html


def test_bulk_write_off_with_one_reason_lowers_each_balance(world):
    # given two open denials of 40.00 and 24.50
    t = world.tenant
    a = sb.denial(t, billed="100.00", paid="60.00")
    b = sb.denial(t, billed="100.00", paid="75.50")
    assert (_balance(a), _balance(b)) == (D("40.00"), D("24.50"))
    client = world.client(OWNER)
    # when written off in bulk without a reason, nothing happens
    page = client.post("/claims/denials/bulk/", {"action": "write_off", "denial": [a.pk, b.pk]})
    assert page.status_code == 302
    assert (_status(a), _status(b)) == ("OPEN", "OPEN")
    # when written off in bulk with one reason
    page = client.post(
        "/claims/denials/bulk/",
        {"action": "write_off", "denial": [a.pk, b.pk], "reason": "small balance policy"},
        follow=True,
    )
    # then both are written off, both balances are zero, each audited with the reason
    assert (_status(a), _status(b)) == ("WRITTEN_OFF", "WRITTEN_OFF")
    assert (_balance(a), _balance(b)) == (D("0.00"), D("0.00"))
    assert "Write off: 2 of 2 denials done." in _text(page)
    reasons = AuditEntry.objects.filter(
        tenant=world.tenant, action="DENIAL_WRITTEN_OFF"
    ).values_list("reason", flat=True)
    assert list(reasons) == ["small balance policy", "small balance policy"]


def test_work_write_off_and_reopen_from_the_detail(world):
    # given an open 40.00 denial on a claim whose balance is 40.00
    d = sb.denial(world.tenant)
    client = world.client(OWNER)
    url = f"/claims/denials/{d.pk}/"
    # when worked
    assert client.post(url + "work/").status_code == 302
    assert _status(d) == "IN_PROGRESS"
    # when written off without a reason: refused, shown on the page, nothing moved
    page = client.post(url + "write-off/", {"reason": " "})
    assert page.status_code == 400
    assert "Write off refused: reason" in _text(page)
    assert _balance(d) == D("40.00")
    # when written off with a reason: balance 0.00
    page = client.post(url + "write-off/", {"reason": "payer will not pay"}, follow=True)
    assert _status(d) == "WRITTEN_OFF"
    assert "balance is now $0.00" in _text(page)
    assert '<strong id="claim-balance">$0.00</strong>' in _text(page)
    # when reopened with a reason: the balance is back to the cent and the timeline says so
    page = client.post(url + "reopen/", {"reason": "appeal evidence found"}, follow=True)
    html = _text(page)
    assert _status(d) == "OPEN"
    assert _balance(d) == D("40.00")
    assert '<strong id="claim-balance">$40.00</strong>' in html
    for action in ("DENIAL_WORKED", "DENIAL_WRITTEN_OFF", "DENIAL_REOPENED"):
        assert f'data-action="{action}"' in html
    assert "appeal evidence found" in html


def test_flip_to_a_state_not_allowed_is_refused_with_the_allowed_moves(world):
    # given an open denial
    d = sb.denial(world.tenant)
    # when flipped to VOIDED (the system's own move) through the screen
    page = world.client(OWNER).post(
        f"/claims/denials/{d.pk}/flip/",
        {"to": "VOIDED", "reason_code": "migration_cleanup", "reason": "cleanup"},
    )
    # then it is refused, naming the allowed targets, and nothing changed
    html = _text(page)
    assert page.status_code == 409
    assert "Manual flip refused" in html
    assert "allowed from here: IN_PROGRESS, RESOLVED, WRITTEN_OFF" in html
    assert _status(d) == "OPEN"
    assert not AuditEntry.objects.filter(action="MANUAL_FLIP").exists()


def test_flip_moves_without_money_and_shows_in_its_own_colour(world):
    # given an open 40.00 denial
    d = sb.denial(world.tenant)
    client = world.client(OWNER)
    # the flip form offers only the non-system targets
    html = _text(client.get(f"/claims/denials/{d.pk}/"))
    assert '<option value="WRITTEN_OFF">' in html and '<option value="VOIDED">' not in html
    # when flipped to WRITTEN_OFF with a picklist reason and details
    page = client.post(
        f"/claims/denials/{d.pk}/flip/",
        {"to": "WRITTEN_OFF", "reason_code": "out_of_band", "reason": "paper EOB 12/01"},
        follow=True,
    )
    html = _text(page)
    # then the state moved but no write-off was applied: the balance is unchanged
    assert _status(d) == "WRITTEN_OFF"
    assert _balance(d) == D("40.00")
    assert "WRITEOFF" not in sb.app_kinds(d)
    # and the timeline shows the flip as its own coloured row with the reason
    assert '<tr class="timeline-flip" data-action="MANUAL_FLIP">' in html
    assert '<span class="badge flip">MANUAL FLIP</span>' in html
    assert "paper EOB 12/01" in html


def test_reopen_under_dual_control_waits_for_approval(world):
    # given the tenant puts denial work under dual control and a written-off denial
    tenant_policy_update(actor=world.actor(OWNER), dual_control_scopes=[S.BILLING_DENIAL_WRITE])
    d = sb.written_off(world.tenant, world.actor(OWNER))
    client = world.client(OWNER)
    # when the owner reopens it
    page = client.post(f"/claims/denials/{d.pk}/reopen/", {"reason": "new evidence"}, follow=True)
    # then a request waits, the denial stays written off, and the page says so
    request = OverrideRequest.objects.get(tenant=world.tenant, status="PENDING")
    html = _text(page)
    assert _status(d) == "WRITTEN_OFF"
    assert f"Waiting for approval (request #{request.pk})" in html
    assert 'href="/approvals/overrides/"' in html
    # and the timeline lists the request once, as an override row
    assert html.count(f"(request #{request.pk}: pending)") == 1
    assert '<tr class="timeline-override" data-action="OVERRIDE_REQUESTED">' in html
    # when an admin approves it, the denial is open and the balance back
    override_request_approve(actor=world.actor(ADMIN), request_id=request.pk)
    assert _status(d) == "OPEN"
    assert _balance(d) == D("40.00")
    html = _text(client.get(f"/claims/denials/{d.pk}/"))
    assert "Waiting for approval" not in html
    assert 'data-action="DENIAL_REOPENED"' in html
    assert f"(request #{request.pk}: approved)" in html
