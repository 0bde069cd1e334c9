"""The remittance and receivables screens (issue 13 item 12): remittance list and detail with
each claim payment's match and evidence, the receivables queue with ranked candidates side by
side, the refusals of force-match and unmatch that need no posting, and per-payer grants."""

from __future__ import annotations

from django.utils import timezone

from core import scopes as S
from core.models import AuditEntry, TenantMembership
from core.services import object_access_grant
from denials.models import RemittanceClaim
from tests.denials import rec_builders as b

MS = RemittanceClaim.MatchState
OWNER, VIEWER, OPS = S.Role.OWNER, S.Role.VIEWER, S.Role.OPERATIONS


def _text(response) -> str:
    return response.content.decode()


def _matched_remittance(world):
    """A remittance with a line matched automatically, one force-matched and one waiting."""
    p = b.payer(world.tenant, "RSP")
    m = b.member(world.tenant, "MX-100")
    auto_claim = b.claim(world.tenant, p, m, number="CLM-A1", billed="120.00")
    forced_claim = b.claim(world.tenant, p, m, number="CLM-F1", billed="300.00")
    r = b.remittance(world.tenant, p, trace="EFT-777", amount="150.00", warnings=["BPR16: bad"])
    auto = b.remit_claim(
        r,
        pcn="CLM-A1",
        member_code="MX-100",
        charge="120.00",
        paid="100.00",
        candidates=[auto_claim],
        state=MS.MATCHED_AUTO,
        matched=auto_claim,
    )
    forced = b.remit_claim(
        r,
        pcn="OTHER-9",
        member_code="MX-100",
        charge="290.00",
        paid="50.00",
        candidates=[forced_claim],
        state=MS.MATCHED_FORCED,
        matched=forced_claim,
        user=world.users[OWNER],
        reason="payer typo in the account number",
    )
    waiting = b.remit_claim(r, pcn="NOPE-1", member_code="MX-999", candidates=[auto_claim])
    return r, auto, forced, waiting


def test_remittance_list_shows_payment_trace_and_waiting_lines(world):
    # given a remittance with three claim payments, one of them waiting
    r, *_ = _matched_remittance(world)
    # when a viewer opens the remittance list
    page = world.client(VIEWER).get("/claims/remittances/")
    # then it shows the trace, the payment, three claims, one waiting and one forced
    assert page.status_code == 200
    html = _text(page)
    assert "EFT-777" in html and "$150.00" in html
    row = html.split(f'id="remittance-{r.pk}"')[1].split("</tr>")[0]
    assert '<td class="num claims">3</td>' in row
    assert '<span class="badge amber">1</span>' in row
    assert '<td class="num forced">1</td>' in row


def test_remittance_list_filters_by_trace_and_waiting(world):
    # given two remittances, only one with a waiting line
    _matched_remittance(world)
    p = b.payer(world.tenant, "RSP")
    b.remittance(world.tenant, p, trace="CHK-0001", amount="10.00")
    client = world.client(VIEWER)
    # when filtering by trace, then only that remittance is listed
    html = _text(client.get("/claims/remittances/?trace=chk-00"))
    assert "CHK-0001" in html and "EFT-777" not in html
    # when asking for those with waiting lines, then only the other one is listed
    html = _text(client.get("/claims/remittances/?state=WAITING"))
    assert "EFT-777" in html and "CHK-0001" not in html


def test_remittance_detail_shows_each_line_with_match_state_and_evidence(world):
    # given a remittance with an auto match, a forced match and a waiting line
    r, auto, forced, waiting = _matched_remittance(world)
    # when the owner opens it
    page = world.client(OWNER).get(f"/claims/remittances/{r.pk}/")
    assert page.status_code == 200
    html = _text(page)
    # then the warning is listed and each line shows its state
    assert "BPR16: bad" in html
    auto_html = html.split(f'id="line-{auto.pk}"')[1].split("</section>")[0]
    assert "Matched automatically" in auto_html and "CLM-A1" in auto_html
    assert "score 1.0000" in auto_html
    # the evidence: every signal of the auto match agreed
    assert auto_html.count('class="signal agreed"') == 4
    forced_html = html.split(f'id="line-{forced.pk}"')[1].split("</section>")[0]
    assert "Force-matched" in forced_html and "payer typo in the account number" in forced_html
    assert "alpha-owner" in forced_html and "overrode score 0.4500" in forced_html
    assert 'data-signal="patient_control_number"' in forced_html
    assert forced_html.count('class="signal disagreed"') == 2
    waiting_html = html.split(f'id="line-{waiting.pk}"')[1].split("</section>")[0]
    assert "Waiting in the queue" in waiting_html and "waiting in the queue" in waiting_html
    # the owner may unmatch the matched lines, not the waiting one
    assert f"/claims/receivables/{auto.pk}/unmatch/" in html
    assert f"/claims/receivables/{waiting.pk}/unmatch/" not in html


def test_remittance_detail_records_the_phi_read(world):
    # given a remittance (its lines carry member ids)
    r, *_ = _matched_remittance(world)
    # when a viewer opens it
    world.client(VIEWER).get(f"/claims/remittances/{r.pk}/")
    # then the read is in the audit trail, without the member ids
    entry = AuditEntry.objects.get(action="phi.view", object_id=str(r.pk))
    assert entry.payload == {"screen": "remittance", "lines": 3}


def test_viewer_sees_no_unmatch_or_force_match_forms(world):
    # given a remittance with matched and waiting lines
    r, auto, *_ = _matched_remittance(world)
    client = world.client(VIEWER)
    # then a viewer (no billing.receivable.override) gets no action form on either screen
    assert "/unmatch/" not in _text(client.get(f"/claims/remittances/{r.pk}/"))
    assert "/force-match/" not in _text(client.get("/claims/receivables/"))


def test_queue_shows_waiting_lines_with_ranked_candidates_side_by_side(world):
    # given a waiting line between two candidate claims, one already partly paid
    d = b.waiting_line(world.tenant, trace="EFT-Q1")
    first, second = d["claims"]
    b.pay(second, "50.00")
    # and a matched line, which is not in the queue
    _, auto, _, _ = _matched_remittance(world)
    # when the owner opens the queue
    page = world.client(OWNER).get("/claims/receivables/")
    assert page.status_code == 200
    html = _text(page)
    line = d["line"]
    assert f'id="queue-line-{auto.pk}"' not in html
    block = html.split(f'id="queue-line-{line.pk}"')[1].split("</section>")[0]
    # then both candidates are shown best first with their scores and balances
    assert block.index(f'id="candidate-{line.pk}-{first.pk}"') < block.index(
        f'id="candidate-{line.pk}-{second.pk}"'
    )
    one = block.split(f'id="candidate-{line.pk}-{first.pk}"')[1].split("</article>")[0]
    two = block.split(f'id="candidate-{line.pk}-{second.pk}"')[1].split("</article>")[0]
    assert "score 0.65" in one and "score 0.45" in two
    assert '<span class="balance">$100.00</span>' in one
    assert '<span class="balance">$200.00</span>' in two
    # with the signals that agree and those that differ, values side by side
    assert one.count('class="signal agreed"') == 3 and one.count('class="signal disagreed"') == 1
    assert two.count('class="signal agreed"') == 2 and two.count('class="signal disagreed"') == 2
    assert "100.00 ≠ 250.00" in two
    # and a force-match dialog per candidate, asking for a reason
    assert f'id="fm-{line.pk}-{first.pk}"' in one and 'name="reason"' in one


def test_queue_filters_by_payer(world):
    # given waiting lines of two payers
    a = b.waiting_line(world.tenant, code="PAYA")
    c = b.waiting_line(world.tenant, code="PAYC")
    # when filtering by one payer, then only its line is listed
    html = _text(world.client(VIEWER).get("/claims/receivables/?payer=PAYA"))
    assert f'id="queue-line-{a["line"].pk}"' in html
    assert f'id="queue-line-{c["line"].pk}"' not in html


def test_payer_grant_narrows_remittances_queue_and_detail(world):
    # given lines of two payers and an operations member granted only the first payer
    a = b.waiting_line(world.tenant, code="PAYA", trace="EFT-A")
    c = b.waiting_line(world.tenant, code="PAYC", trace="EFT-C")
    ops = world.users[OPS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(OWNER), membership_id=membership.pk, obj=a["payer"])
    client = world.client(OPS)
    # then they see only that payer's remittance and waiting line
    html = _text(client.get("/claims/remittances/"))
    assert "EFT-A" in html and "EFT-C" not in html
    html = _text(client.get("/claims/receivables/"))
    assert f'id="queue-line-{a["line"].pk}"' in html
    assert f'id="queue-line-{c["line"].pk}"' not in html
    # and the other payer's remittance is not found
    assert client.get(f"/claims/remittances/{c['remittance'].pk}/").status_code == 404


def test_force_match_without_reason_is_refused_beside_the_line(world):
    # given a waiting line
    d = b.waiting_line(world.tenant)
    line, (first, _) = d["line"], d["claims"]
    # when the owner force-matches it with a blank reason
    page = world.client(OWNER).post(
        f"/claims/receivables/{line.pk}/force-match/", {"claim": first.pk, "reason": "  "}
    )
    # then 400, the error is shown beside the line, and nothing changed
    assert page.status_code == 400
    assert f'id="error-{line.pk}-reason"' in _text(page)
    assert "a force-match needs a reason" in _text(page)
    line.refresh_from_db()
    assert line.match_state == MS.UNMATCHED and line.claim_id is None


def test_force_match_without_a_claim_or_with_an_unknown_number_is_refused(world):
    # given a waiting line
    line = b.waiting_line(world.tenant)["line"]
    client = world.client(OWNER)
    url = f"/claims/receivables/{line.pk}/force-match/"
    # when no claim is chosen, then 400 naming the claim
    page = client.post(url, {"reason": "checked"})
    assert page.status_code == 400 and f'id="error-{line.pk}-claim"' in _text(page)
    # when the typed claim number is not a claim of this payer, then 400 naming it
    page = client.post(url, {"claim_number": "CLM-NOPE", "reason": "checked"})
    assert page.status_code == 400
    assert "no claim &#x27;CLM-NOPE&#x27; of this payer was found" in _text(page)
    line.refresh_from_db()
    assert line.match_state == MS.UNMATCHED


def test_force_match_refusal_with_next_goes_back_with_the_message(world):
    # given a waiting line, force-matched from its remittance page without a reason
    line = b.waiting_line(world.tenant)["line"]
    back_to = f"/claims/remittances/{line.remittance_id}/"
    page = world.client(OWNER).post(
        f"/claims/receivables/{line.pk}/force-match/", {"claim": "1", "next": back_to}
    )
    # then the browser goes back there; the message says why
    assert page.status_code == 302 and page.headers["Location"] == back_to
    follow = world.client(OWNER).get(back_to)
    assert follow.status_code == 200


def test_force_match_and_unmatch_need_the_override_scope(world):
    # given a waiting line and a matched one
    line = b.waiting_line(world.tenant)["line"]
    _, auto, _, _ = _matched_remittance(world)
    # when operations (no billing.receivable.override) tries either action
    client = world.client(OPS)
    for url in (
        f"/claims/receivables/{line.pk}/force-match/",
        f"/claims/receivables/{auto.pk}/unmatch/",
    ):
        page = client.post(url, {"claim": "1", "reason": "r"})
        # then 403 with the scope named, and nothing changed
        assert page.status_code == 403 and "billing.receivable.override" in _text(page)
    auto.refresh_from_db()
    assert auto.match_state == MS.MATCHED_AUTO


def test_actions_on_unknown_or_other_tenants_lines_are_not_found(world):
    # given a waiting line of tenant A
    line = b.waiting_line(world.tenant)["line"]
    # then tenant B's owner gets 404 on it, and anyone gets 404 on an unknown line
    outsider = world.client("outsider")
    assert outsider.post(f"/claims/receivables/{line.pk}/force-match/", {}).status_code == 404
    assert outsider.post(f"/claims/receivables/{line.pk}/unmatch/", {}).status_code == 404
    owner = world.client(OWNER)
    assert owner.post("/claims/receivables/999999/force-match/", {}).status_code == 404
    # and GET is not an action
    assert owner.get(f"/claims/receivables/{line.pk}/force-match/").status_code == 405


def test_unmatch_without_reason_is_refused_on_the_remittance_page(world):
    # given a matched line
    r, auto, _, _ = _matched_remittance(world)
    # when the owner unmatches it without a reason
    page = world.client(OWNER).post(f"/claims/receivables/{auto.pk}/unmatch/", {"reason": ""})
    # then 400 on the remittance page, the error beside the line, and it stays matched
    assert page.status_code == 400
    html = _text(page)
    assert f'id="error-{auto.pk}"' in html and "unmatching needs a reason" in html
    auto.refresh_from_db()
    assert auto.match_state == MS.MATCHED_AUTO and auto.claim_id is not None


def test_queue_is_empty_when_nothing_waits(world):
    page = world.client(VIEWER).get("/claims/receivables/")
    assert page.status_code == 200 and 'id="queue-empty"' in _text(page)


def test_remittance_detail_of_unknown_id_is_a_friendly_404(world):
    page = world.client(VIEWER).get("/claims/remittances/424242/")
    assert page.status_code == 404 and "Remittance 424242" in _text(page)


def test_matched_lines_keep_their_time(world):
    # guard for the report tests: a matched line has its matched_at set
    _, auto, forced, waiting = _matched_remittance(world)
    assert auto.matched_at <= timezone.now() and waiting.matched_at is None


def test_force_match_to_another_payers_or_tenants_claim_is_refused(world):
    # given a waiting line, a claim of another payer and a claim of tenant B
    line = b.waiting_line(world.tenant, code="PAYA")["line"]
    other = b.waiting_line(world.tenant, code="PAYC")["claims"][0]
    foreign = b.waiting_line(world.other_tenant, code="PAYA")["claims"][0]
    client = world.client(OWNER)
    for claim_id in (other.pk, foreign.pk):
        # when the owner force-matches the line to it
        page = client.post(
            f"/claims/receivables/{line.pk}/force-match/", {"claim": claim_id, "reason": "r"}
        )
        # then 400 naming the claim, and the line still waits
        assert page.status_code == 400
        assert f"no claim {claim_id} of this payer was found" in _text(page)
    line.refresh_from_db()
    assert line.match_state == MS.UNMATCHED


def test_remittance_list_exports_csv_with_its_filters(world):
    # given two remittances, one with a waiting line
    r, *_ = _matched_remittance(world)
    b.remittance(world.tenant, b.payer(world.tenant, "RSP"), trace="=CHK-2", amount="10.00")
    # when the list is exported with the "waiting" filter
    response = world.client(VIEWER).get("/claims/remittances.csv?state=WAITING")
    # then one row: the trace, payment, claim counts and paid total
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    header, row = text.strip().splitlines()
    assert header.startswith("trace_number,payer,payment_amount")
    assert row.startswith("EFT-777,RSP,150.00,ACH,2026-10-05,3,1,1,230.00,1,")
    # and unfiltered, a text cell that looks like a formula is made safe
    text = b"".join(world.client(VIEWER).get("/claims/remittances.csv").streaming_content)
    assert b"'=CHK-2" in text or b"\t=CHK-2" in text


def test_queue_reads_candidates_leniently_and_never_fails_on_odd_entries(world):
    # given a waiting line whose stored candidates hold junk beside a claim_id-keyed entry
    d = b.waiting_line(world.tenant)
    line, (first, _) = d["line"], d["claims"]
    RemittanceClaim.objects.filter(pk=line.pk).update(
        candidates=["junk", {"claim": "abc"}, {"claim_id": first.pk, "score": "x"}, 7]
    )
    # when the queue is opened
    page = world.client(OWNER).get("/claims/receivables/")
    # then the one readable candidate is shown, without a score, and nothing fails
    assert page.status_code == 200
    html = _text(page)
    assert f'id="candidate-{line.pk}-{first.pk}"' in html
    assert html.count('<article class="candidate') == 1
