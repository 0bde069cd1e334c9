"""The denials work queue and detail as a user sees them (issue 14 item 7): each filter narrows
the list, counters and charts, the CSV of the filtered list, payer grants, and the detail with
the claim balance, the 835 line and the timeline."""

from __future__ import annotations

import csv
import io

from core import scopes as S
from core.models import TenantMembership
from core.services import object_access_grant
from denials.models import Denial
from tests.denials import screens_builders as sb

OWNER, OPS, VIEWER = S.Role.OWNER, S.Role.OPERATIONS, S.Role.VIEWER


def _text(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode()


def _rows(html: str, denials) -> set[int]:
    """Which of these denials the page lists as a queue row."""
    return {d.pk for d in denials if f'id="denial-row-{d.pk}"' in html}


def _queue(world, query: str = "", role=VIEWER) -> str:
    page = world.client(role).get(f"/claims/denials/{query}")
    assert page.status_code == 200
    return _text(page)


def test_each_filter_narrows_the_queue(world):
    # given denials that differ in payer, CARC, group, age, status and assignee
    t = world.tenant
    me = world.users[OWNER]
    other = world.users[OPS]
    a = sb.denial(t, payer="PA", carc="29", group="CO")
    b = sb.denial(t, payer="PB", carc="197", group="PR", days_old=45)
    c = sb.denial(t, payer="PA", carc="4", days_old=150, status=Denial.Status.IN_PROGRESS)
    d = sb.denial(t, payer="PB", carc="29", days_old=95, assignee=me)
    e = sb.denial(t, payer="PA", carc="16", assignee=other, status=Denial.Status.WRITTEN_OFF)
    every = [a, b, c, d, e]
    # then without a filter every one is listed
    assert _rows(_queue(world), every) == {x.pk for x in every}
    # and each filter keeps exactly the matching ones
    assert _rows(_queue(world, "?payer=PB"), every) == {b.pk, d.pk}
    assert _rows(_queue(world, "?carc=29"), every) == {a.pk, d.pk}
    assert _rows(_queue(world, "?group=PR"), every) == {b.pk}
    assert _rows(_queue(world, "?age=31-60"), every) == {b.pk}
    assert _rows(_queue(world, "?age=91-120"), every) == {d.pk}
    assert _rows(_queue(world, "?age=over+120"), every) == {c.pk}
    assert _rows(_queue(world, "?age=0-30"), every) == {a.pk, e.pk}
    assert _rows(_queue(world, "?status=IN_PROGRESS"), every) == {c.pk}
    assert _rows(_queue(world, "?assignee=me", role=OWNER), every) == {d.pk}
    assert _rows(_queue(world, f"?assignee={other.username}"), every) == {e.pk}
    assert _rows(_queue(world, "?assignee=none"), every) == {a.pk, b.pk, c.pk}
    # and filters combine
    assert _rows(_queue(world, "?payer=PA&carc=29"), every) == {a.pk}


def test_queue_shows_amounts_age_carc_label_status_and_counters(world):
    # given an open CO-29 denial of 40.00 opened 45 days ago and a written-off one
    sb.denial(world.tenant, carc="29", days_old=45)
    sb.denial(world.tenant, carc="197", status=Denial.Status.WRITTEN_OFF)
    html = _queue(world)
    # then the row shows the amount, its age, the readable CARC and the status badge
    assert "$40.00" in html
    assert "45 d" in html
    assert "The time limit for filing has expired" in html
    assert '<span class="badge red">Open</span>' in html
    # and the counters count by status, the age chart by bucket
    assert '<li data-status="OPEN"><span class="count">1</span>' in html
    assert '<li data-status="WRITTEN_OFF"><span class="count">1</span>' in html
    assert '<span class="hbar-label">31-60 days</span>' in html
    assert '<span class="hbar-label">CO-29</span>' in html


def test_viewer_sees_no_bulk_or_assign_controls(world):
    sb.denial(world.tenant)
    html = _queue(world, role=VIEWER)
    assert 'id="denial-bulk"' not in html and "Assign to me" not in html
    html = _queue(world, role=OPS)
    assert 'id="denial-bulk"' in html and "Assign to me" in html


def test_csv_export_has_the_filtered_rows_with_amounts(world):
    # given two denials of different payers, one written off through the service
    a = sb.denial(world.tenant, payer="PA", carc="29", billed="100.00", paid="60.00")
    b = sb.written_off(world.tenant, world.actor(OWNER), payer="PB", carc="197", paid="75.50")
    # when the queue filtered on PB is exported
    page = world.client(VIEWER).get("/claims/denials/export.csv?payer=PB")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(_text(page))))
    # then only PB's denial is in it, with its amount, open amount and status
    assert [r["denial"] for r in rows] == [str(b.pk)]
    row = rows[0]
    assert (row["claim"], row["payer"], row["group"], row["carc"]) == (
        b.claim.number,
        "PB",
        "CO",
        "197",
    )
    assert (row["amount"], row["open_amount"], row["status"]) == ("24.50", "0.00", "WRITTEN_OFF")
    # and unfiltered both are there, the open one with its open amount
    rows = list(
        csv.DictReader(io.StringIO(_text(world.client(VIEWER).get("/claims/denials/export.csv"))))
    )
    by_id = {r["denial"]: r for r in rows}
    assert by_id[str(a.pk)]["open_amount"] == "40.00"


def test_payer_grants_hide_other_payers_denials(world):
    # given denials of two payers and an operations member granted only the first
    a = sb.denial(world.tenant, payer="PGA")
    b = sb.denial(world.tenant, payer="PGB")
    ops = world.users[OPS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(OWNER), membership_id=membership.pk, obj=a.claim.payer)
    client = world.client(OPS)
    # then the queue and the CSV list only the granted payer's denial
    assert _rows(_text(client.get("/claims/denials/")), [a, b]) == {a.pk}
    exported = _text(client.get("/claims/denials/export.csv"))
    assert a.claim.number in exported and b.claim.number not in exported
    # and the other's detail is not found, nor can it be acted on
    assert client.get(f"/claims/denials/{b.pk}/").status_code == 404
    assert client.post(f"/claims/denials/{b.pk}/work/").status_code == 404
    assert client.get(f"/claims/denials/{a.pk}/").status_code == 200


def test_another_tenants_denial_is_not_found(world):
    d = sb.denial(world.other_tenant)
    assert world.client(OWNER).get(f"/claims/denials/{d.pk}/").status_code == 404


def test_detail_shows_claim_balance_835_line_and_timeline(world):
    # given a 40.00 denial written off through the service
    d = sb.written_off(world.tenant, world.actor(OWNER), carc="29", rarcs=("N30",))
    page = world.client(VIEWER).get(f"/claims/denials/{d.pk}/")
    assert page.status_code == 200
    html = _text(page)
    # then the claim links to its page with its balance after the write-off
    assert f'href="/claims/{d.claim.number}/" id="claim-link"' in html
    assert '<strong id="claim-balance">$0.00</strong>' in html
    assert '<dd id="denial-open">$0.00</dd>' in html
    # and the 835 line that opened it, linked to the remittance
    assert f'href="/claims/remittances/{d.remittance_claim.remittance_id}/"' in html
    assert '<tr class="opened"><td class="num">1</td><td>99213</td>' in html
    # and the timeline has the write-off with its reason, and the status reference is linked
    assert 'data-action="DENIAL_WRITTEN_OFF"' in html
    assert "uncollectable" in html
    assert 'href="/claims/denials/status-reference/"' in html
    # and a viewer has no action forms
    assert 'id="denial-actions"' not in html


def test_claim_page_links_each_denial_to_its_detail(world):
    d = sb.denial(world.tenant)
    html = _text(world.client(VIEWER).get(f"/claims/{d.claim.number}/"))
    assert f'href="/claims/denials/{d.pk}/" class="denial-link"' in html


def test_timeline_selector_is_chronological_and_flags_flips(world):
    from denials.selectors_denials import denial_timeline
    from denials.services.denial_work import denial_flip, denial_work

    # given a denial worked, then flipped to resolved
    actor = world.actor(OWNER)
    d = sb.denial(world.tenant)
    denial_work(actor=actor, denial_id=d.pk)
    denial_flip(
        actor=actor, denial_id=d.pk, to="RESOLVED", reason="phone call", reason_code="out_of_band"
    )
    # then the timeline lists both moves in order, the flip flagged with its stored reason
    rows = denial_timeline(world.actor(VIEWER), Denial.objects.get(pk=d.pk))
    assert [(r["action"], r["kind"]) for r in rows] == [
        ("DENIAL_WORKED", "transition"),
        ("MANUAL_FLIP", "flip"),
    ]
    assert rows[1]["reason"].endswith(": phone call")
    assert rows[1]["actor"] == world.users[OWNER].username
