"""The X12 835 reader (issue 13, build 5): the shared sample to the cent, several interchanges,
one-line files, and the data-level problems that load as warnings."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denials.remit_rows import COLUMNS, read_row
from denials.x12_835 import read_835_for_ingestion
from tests.denials import x835_files as f

UPLOAD = {"payer_code": "NYSDOH"}  # the upload names the payer: no tenant lookup needed


def read(content: bytes, options: dict | None = None):
    return read_835_for_ingestion(content, options or UPLOAD)


def typed(row):
    remit, problems = read_row(row.data)
    assert problems == [], problems
    return remit


def test_sample_gives_its_three_claims_exactly():
    # given the shared 835 sample (three claims of one ACH payment of 45.75)
    # when it is read
    rows = read(f.SAMPLE.read_bytes())
    # then one record per CLP, numbered by the CLP's segment position, each readable
    assert [r.row_number for r in rows] == [15, 34, 46]
    assert all(r.problem == "" for r in rows)
    assert all(set(r.data) == set(COLUMNS) for r in rows)
    paid, denied, partly = (typed(r) for r in rows)
    for remit in (paid, denied, partly):
        assert remit.payer_code == "NYSDOH"
        assert remit.trace_number == "10100000000"
        assert remit.trace_originator == "1000000000"
        assert remit.payment_amount == Decimal("45.75")
        assert remit.payment_method == "ACH"
        assert remit.payment_date.isoformat() == "2010-01-01"
        assert remit.patient_control_number == "PATIENT ACCOUNT NUMBER"
        assert remit.warnings == []
    assert [r.status_code for r in (paid, denied, partly)] == ["1", "2", "2"]
    assert [r.charge_amount for r in (paid, denied, partly)] == [
        Decimal("34.25"),
        Decimal("34.00"),
        Decimal("34.25"),
    ]
    assert [r.paid_amount for r in (paid, denied, partly)] == [
        Decimal("34.25"),
        Decimal("0.00"),
        Decimal("11.50"),
    ]
    assert [r.payer_claim_control_number for r in (paid, denied, partly)] == [
        "1000210000000030",
        "1000220000000020",
        "1000230000000020",
    ]
    assert [r.member_id for r in (paid, denied, partly)] == ["LL99999L", "LL88888L", "LL77777L"]
    # and the CARCs and the RARC, each on its service line
    assert paid.adjustments == [] and paid.remarks == []
    assert [a.text() for a in denied.adjustments] == ["L1/CO-29:12.00", "L2/CO-29:22.00"]
    assert [a.text() for a in partly.adjustments] == ["L3/CO-251:2.75", "L4/CO-251:20.00"]
    assert [r.text() for r in partly.remarks] == ["L3/N206", "L4/N206"]
    # and every cent of each claim is accounted for: charge - paid = adjustments
    for remit in (paid, denied, partly):
        adjusted = sum((a.amount for a in remit.adjustments), Decimal("0"))
        assert remit.charge_amount - remit.paid_amount == adjusted
    assert sum(r.paid_amount for r in (paid, denied, partly)) == Decimal("45.75")


def test_sample_lines_carry_codes_amounts_dates_and_remarks():
    # given the sample's partly paid claim
    partly = typed(read(f.SAMPLE.read_bytes())[2])
    # then its four SVC lines, with the keys posting reads
    assert [ln["line"] for ln in partly.lines] == [1, 2, 3, 4]
    assert [ln["code"] for ln in partly.lines] == ["V2020", "V2103", "V2700", "S0580"]
    assert [ln["modifier"] for ln in partly.lines] == ["RB", "RB", "RB", ""]
    assert [ln["charge"] for ln in partly.lines] == ["6.00", "5.50", "2.75", "20.00"]
    assert [ln["paid"] for ln in partly.lines] == ["6.00", "5.50", "0.00", "0.00"]
    assert [ln["units"] for ln in partly.lines] == ["1", "1", "0", "0"]
    assert partly.lines[1]["service_date"] == "2013-09-17"
    assert partly.lines[2]["adjustments"] == [
        {"group": "CO", "carc": "251", "amount": "2.75", "line": 3}
    ]
    assert partly.lines[3]["remarks"] == ["N206"]
    for line in partly.lines:
        assert {
            "line",
            "code",
            "modifier",
            "charge",
            "paid",
            "units",
            "service_date",
            "service_date_to",
            "adjustments",
            "remarks",
        } <= set(line)
    # and the claim's service dates are its DTM*232/233
    assert (partly.service_date.isoformat(), partly.service_date_to.isoformat()) == (
        "2010-01-01",
        "2010-01-01",
    )


def test_records_round_trip_through_the_remittance_contract():
    # given the sample's records
    for row in read(f.SAMPLE.read_bytes()):
        # when read back typed and written again
        # then the text is the same (the 835 reader writes what RemitRow.to_data() writes)
        assert typed(row).to_data() == row.data


def test_one_line_file_reads_the_same_as_one_segment_per_line():
    # given the sample with every line break removed (all segments on one line)
    content = f.SAMPLE.read_bytes()
    one_line = content.replace(b"\r", b"").replace(b"\n", b"")
    assert b"\n" not in one_line
    # then the same records
    assert [r.data for r in read(one_line)] == [r.data for r in read(content)]


def test_several_interchanges_each_with_its_own_separators():
    # given two interchanges: the second declares '|' and '>' as separators; then the sample
    first = f.interchange([f.transaction([f.claim("A1", pccn="P1")], trace="EFT1")])
    second = f.interchange(
        [f.transaction([f.claim("B1", pccn="P2"), f.claim("B2", pccn="P3")], trace="EFT2")],
        control="000000102",
        group="102",
        ele="|",
        comp=">",
    )
    content = (first + second).encode() + f.SAMPLE.read_bytes()
    # when the file is read
    rows = read(content)
    # then every claim of every interchange, in file order, row numbers growing
    assert [r.data["patient_control_number"] for r in rows] == [
        "A1",
        "B1",
        "B2",
        *["PATIENT ACCOUNT NUMBER"] * 3,
    ]
    assert [r.data["trace_number"] for r in rows][:3] == ["EFT1", "EFT2", "EFT2"]
    numbers = [r.row_number for r in rows]
    assert numbers == sorted(set(numbers))
    assert json.loads(rows[2].data["lines"])[0]["code"] == "99213"
    assert rows[2].data["adjustments"] == "L1/PR-1:20.00"


def test_several_interchanges_on_one_line():
    # given two interchanges written without any line break
    first = f.interchange([f.transaction([f.claim("A1", pccn="P1")])], newline="")
    second = f.interchange(
        [f.transaction([f.claim("B1", pccn="P2")], trace="EFT2")],
        control="000000102",
        group="102",
        newline="",
    )
    # then both claims
    rows = read((first + second).encode())
    assert [r.data["payer_claim_control_number"] for r in rows] == ["P1", "P2"]


def test_several_transactions_of_one_interchange_keep_their_own_payment():
    # given one interchange with two payments (ST..SE twice)
    content = f.interchange(
        [
            f.transaction([f.claim("A1", pccn="P1")], control="0001", trace="EFT1"),
            f.transaction(
                [f.claim("B1", pccn="P2", paid="50", pr="50")], control="0002", trace="EFT2"
            ),
        ]
    ).encode()
    rows = read(content)
    # then each claim carries its payment's trace and amount
    assert [(r.data["trace_number"], r.data["payment_amount"]) for r in rows] == [
        ("EFT1", "80.00"),
        ("EFT2", "50.00"),
    ]


def test_several_cas_triples_claim_level_cas_and_claim_remarks():
    # given a claim with a claim-level CAS of two triples, MOA remarks, and a line with two
    # triples and two LQ*HE remarks
    line = f.svc(
        "99214", "150", "100", "20260106", ["CAS*CO*45*30*1*253*2", "LQ*HE*M15", "LQ*HE*N130"]
    )
    clm = f.claim(
        "C1",
        charge="160",
        paid="100",
        pr="10",
        lines=[line],
        cas=["CAS*PR*1*10**2*5"],
        extra=["MOA***MA01*MA18"],
    )
    row = read(f.interchange([f.transaction([clm])]).encode())[0]
    # then every triple and remark, claim level first, then the line's
    assert row.data["adjustments"].split(";") == [
        "PR-1:10.00",
        "PR-2:5.00",
        "L1/CO-45:30.00",
        "L1/CO-253:2.00",
    ]
    assert row.data["remarks"] == "MA01;MA18;L1/M15;L1/N130"
    assert row.problem == ""


def test_a_six_triple_cas_reads_every_triple():
    # given one CAS with the six triples a segment can hold
    cas = "CAS*CO*" + "*".join(f"{c}*1*" for c in ("45", "59", "97", "151", "253", "16"))
    line = f.svc("99213", "106", "100", "20260105", [cas])
    row = read(
        f.interchange(
            [f.transaction([f.claim(lines=[line], charge="106", paid="100", pr="0")])]
        ).encode()
    )[0]
    # then six adjustments of 1.00 each
    assert row.data["adjustments"].count("L1/CO-") == 6
    assert row.data["warnings"] == ""


def test_line_dates_from_a_range_and_claim_span_from_lines():
    # given a claim without DTM*232, its lines dated by DTM*150/151 and DTM*472 RD8
    lines = [
        ["SVC*HC:97110*50*50**1", "DTM*150*20260103", "DTM*151*20260104"],
        ["SVC*HC:97112*50*50**1", "DTM*472****RD8*20260107-20260109"],
    ]
    row = read(
        f.interchange(
            [f.transaction([f.claim(charge="100", paid="100", pr="0", lines=lines)])]
        ).encode()
    )[0]
    remit = typed(row)
    # then each line's dates and the claim spans them
    assert [(ln["service_date"], ln["service_date_to"]) for ln in remit.lines] == [
        ("2026-01-03", "2026-01-04"),
        ("2026-01-07", "2026-01-09"),
    ]
    assert (remit.service_date.isoformat(), remit.service_date_to.isoformat()) == (
        "2026-01-03",
        "2026-01-09",
    )


def test_invalid_bpr16_date_loads_with_a_warning():
    # given a payment dated 20261345 (no such day)
    rows = read(f.simple_file(bpr_date="20261345"))
    # then the claim loads, with no payment date and a warning naming BPR16
    remit = typed(rows[0])
    assert remit.payment_date is None
    assert any("BPR16" in w and "20261345" in w for w in remit.warnings)


def test_missing_payer_contact_loads_with_a_warning():
    # given a payer loop without its PER*BL contact
    remit = typed(read(f.simple_file(per=False))[0])
    # then a warning on the claim says so; the amounts are there
    assert any("PER*BL" in w for w in remit.warnings)
    assert remit.paid_amount == Decimal("80.00")


def test_bpr02_against_claims_minus_plb():
    # given BPR02 75.00 with claims paying 80.00 and a PLB taking back 5.00
    plb = ["PLB*1999999995*20261231*WO:ABC123*5"]
    ok = read(f.simple_file(amount="75.00", plb=plb))
    # then no warning
    assert typed(ok[0]).warnings == []
    # given BPR02 90.00 for the same claims
    off = typed(read(f.simple_file(amount="90.00", plb=plb))[0])
    # then a warning with the figures compared
    assert off.warnings == [
        "BPR02 payment 90.00 differs from the claims' paid amounts (CLP04) 80.00 minus "
        "provider adjustments (PLB) 5.00 = 75.00"
    ]


def test_bpr02_mismatch_warns_every_claim_of_the_payment():
    # given two claims paying 80.00 + 80.00 and BPR02 100.00
    content = f.interchange(
        [f.transaction([f.claim("A", pccn="P1"), f.claim("B", pccn="P2")], amount="100.00")]
    ).encode()
    rows = read(content)
    # then both records carry the warning (it is the remittance's)
    for row in rows:
        assert any("BPR02 payment 100.00" in w for w in typed(row).warnings)


def test_unbalanced_claim_loads_with_a_warning():
    # given a claim of 100.00 paid 80.00 whose adjustments only account for 15.00
    line = f.svc("99213", "100", "80", "20260105", ["CAS*PR*1*15"])
    remit = typed(read(f.interchange([f.transaction([f.claim(lines=[line])])]).encode())[0])
    # then it loads with the claim and the line named as not balancing
    assert any("(CLP)" in w and "sum to 15.00" in w for w in remit.warnings)
    assert any("SVC line 1" in w for w in remit.warnings)


def test_unreadable_cas_amount_is_the_records_own_problem():
    # given a CAS whose amount is not a number
    line = f.svc("99213", "100", "80", "20260105", ["CAS*PR*1*2O.00"])
    rows = read(f.interchange([f.transaction([f.claim(lines=[line])])]).encode())
    # then the record is refused with the segment named (the file still reads)
    assert "(CAS)" in rows[0].problem and "2O.00" in rows[0].problem


@pytest.mark.parametrize("status", ["4", "22"])
def test_denial_and_reversal_status_codes_are_kept(status):
    # given a denied (4) or reversed (22) claim
    paid = "-80" if status == "22" else "0"
    line = f.svc("99213", "100", paid, "20260105")
    clm = f.claim(status=status, paid=paid, pr="0", lines=[line])
    row = read(f.interchange([f.transaction([clm])]).encode())[0]
    # then the status and the (negative) amount are as sent
    assert (row.data["status_code"], row.data["paid_amount"]) == (status, paid + ".00")


def test_the_same_interchange_twice_gives_its_records_twice_with_one_key():
    # given a file holding the same interchange twice (a re-send appended by the sender)
    good = f.simple_file()
    rows = read(good + good)
    # then the records repeat with the same key fields (ingestion SKIPS the repeat)
    keys = [
        (r.data["payer_code"], r.data["trace_number"], r.data["payer_claim_control_number"])
        for r in rows
    ]
    assert len(rows) == 2 and keys[0] == keys[1]


money = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)


@settings(max_examples=60, deadline=None)
@given(
    claims=st.lists(
        st.tuples(money, money, st.sampled_from(["CO", "PR", "OA", "PI"]), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    plb=money,
)
def test_generated_payments_tie_out_to_the_cent(claims, plb):
    # given claims of random charges and payments, each difference adjusted by one CAS (at claim
    # or line level), and a PLB; BPR02 = sum of CLP04 - PLB
    built = []
    for i, (charge, paid, group, at_line) in enumerate(claims, start=1):
        diff = charge - paid
        cas = [f"CAS*{group}*45*{diff}"] if diff else []
        if at_line:
            line = f.svc("99213", str(charge), str(paid), "20260105", cas)
        else:  # the adjustment is the claim's: the line itself balances
            line = f.svc("99213", str(paid), str(paid), "20260105")
        built.append(
            f.claim(
                f"C{i}",
                charge=str(charge),
                paid=str(paid),
                pr="0",
                pccn=f"P{i}",
                lines=[line],
                cas=[] if at_line else cas,
            )
        )
    total = sum((p for _, p, _, _ in claims), Decimal("0")) - plb
    plb_segment = [f"PLB*1999999995*20261231*WO:X1*{plb}"] if plb else []
    content = f.interchange([f.transaction(built, amount=str(total), plb=plb_segment)]).encode()
    # when read
    remits = [typed(r) for r in read(content)]
    # then each claim's amounts are as sent and its adjustments account for every cent
    assert [(r.charge_amount, r.paid_amount) for r in remits] == [(c, p) for c, p, _, _ in claims]
    for remit in remits:
        adjusted = sum((a.amount for a in remit.adjustments), Decimal("0"))
        assert remit.charge_amount - remit.paid_amount == adjusted
        assert remit.warnings == []
    assert all(r.payment_amount == total for r in remits)


def test_unreadable_service_date_loads_with_a_warning_that_does_not_quote_it():
    # given a line dated 20261399 (no such day)
    line = f.svc("99213", "100", "80", "20261399", ["CAS*PR*1*20"])
    remit = typed(read(f.interchange([f.transaction([f.claim(lines=[line])])]).encode())[0])
    # then the claim loads without that date; the warning names the segment, not the date
    assert remit.lines[0]["service_date"] == "" and remit.service_date is None
    assert remit.warnings == [
        "segment 16 (DTM*472): the service date is not a date (CCYYMMDD); it is left empty"
    ]
