"""The pure 837P writer: envelope, loops, element formats; pyx12 accepts what it writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from denials import x12_837 as w
from tests.denials.x12_validate import pyx12_validate

ENV = w.Envelope("SUBMITTER", "RECEIVER", "Clearinghouse", 42, 7, datetime(2026, 3, 1, 9, 30))
PROVIDER = w.Provider(
    "Billing Provider", "1234567893", "12-3456789", "1 Main Street", "Springfield", "IL",
    "62701-0001", "Billing Office", "(555) 555-0100",
)  # fmt: skip


def _claim(pcn="PCN1", member_id="M001", payer_id="ACME01", lines=None, **kw) -> w.Claim:
    lines = lines or [w.Line("99213", Decimal("100.00"), Decimal("1"), date(2026, 2, 1), "25")]
    return w.Claim(
        patient_control_number=pcn,
        billed_amount=sum((ln.amount for ln in lines), Decimal("0")),
        payer_name="Acme Health",
        payer_id=payer_id,
        member_id=member_id,
        last_name=kw.get("last_name", "Doe"),
        first_name="Jane",
        birth_date=kw.get("birth_date", date(1980, 1, 2)),
        lines=lines,
    )


def _segments(text: str) -> list[list[str]]:
    return [s.split("*") for s in text.split("~") if s]


def test_write_837_two_claims_validates_with_pyx12():
    # given two members' claims, one of two lines with a modifier and fractional units
    lines = [
        w.Line("99213", Decimal("100.00"), Decimal("1"), date(2026, 2, 1), "25,59"),
        w.Line("87880", Decimal("50.50"), Decimal("1.500"), date(2026, 2, 3)),
    ]
    claims = [_claim(lines=lines), _claim(pcn="PCN2", member_id="M002", birth_date=None)]
    # when the interchange is written
    text = w.write_837(ENV, PROVIDER, claims)
    # then pyx12 validates it against 005010X222A1 and acknowledges it as accepted
    ok, ack = pyx12_validate(text)
    assert ok, ack
    assert "IK5*A" in ack and "AK9*A*1*1*1" in ack
    segs = _segments(text)
    assert segs[0][13] == "000000042" and segs[-1] == ["IEA", "1", "000000042"]
    assert segs[1][6] == "7" and segs[1][8] == "005010X222A1"
    assert ["CLM", "PCN1", "150.5", "", "", "11:B:1", "Y", "A", "Y", "Y"] in segs
    assert ["SV1", "HC:99213:25:59", "100", "UN", "1", "", "", "1"] in segs
    assert ["SV1", "HC:87880", "50.5", "UN", "1.5", "", "", "1"] in segs
    assert ["DTP", "472", "D8", "20260203"] in segs
    assert ["N4", "Springfield", "IL", "627010001"] in segs
    assert ["REF", "EI", "123456789"] in segs
    assert ["PER", "IC", "Billing Office", "TE", "5555550100"] in segs
    assert ["NM1", "PR", "2", "Acme Health", "", "", "", "", "PI", "ACME01"] in segs
    # one subscriber loop per member, the second without a birth date (no DMG)
    assert [s for s in segs if s[0] == "HL"] == [
        ["HL", "1", "", "20", "1"], ["HL", "2", "1", "22", "0"], ["HL", "3", "1", "22", "0"]
    ]  # fmt: skip
    assert sum(1 for s in segs if s[0] == "DMG") == 1
    se = next(s for s in segs if s[0] == "SE")
    st_index = next(i for i, s in enumerate(segs) if s[0] == "ST")
    se_index = segs.index(se)
    assert int(se[1]) == se_index - st_index + 1


def test_write_837_same_member_and_payer_share_one_subscriber_loop():
    # given two claims of the same member with the same payer
    text = w.write_837(ENV, PROVIDER, [_claim(pcn="A"), _claim(pcn="B")])
    # then one subscriber HL carries both CLMs, and the file validates
    segs = _segments(text)
    assert sum(1 for s in segs if s[:1] == ["HL"] and s[3] == "22") == 1
    assert [s[1] for s in segs if s[0] == "CLM"] == ["A", "B"]
    assert pyx12_validate(text)[0]


def test_write_837_delimiters_in_data_are_removed():
    # given a name and a claim number holding X12 delimiters
    text = w.write_837(ENV, PROVIDER, [_claim(pcn="P*1~", last_name="O'Neil*Smith:Jr^")])
    # then no element breaks the segment structure and pyx12 still accepts it
    segs = _segments(text)
    assert next(s for s in segs if s[0] == "CLM")[:2] == ["CLM", "P 1"]
    assert next(s for s in segs if s[:2] == ["NM1", "IL"])[3] == "O'Neil Smith Jr"
    assert pyx12_validate(text)[0]


def test_write_837_splits_transaction_sets_above_the_limit(monkeypatch):
    # given a limit of two claims per ST and three claims
    monkeypatch.setattr(w, "MAX_CLAIMS_PER_ST", 2)
    text = w.write_837(ENV, PROVIDER, [_claim(pcn=f"P{i}") for i in range(3)])
    # then two transaction sets, 0001 and 0002, counted in GE01; the file validates
    segs = _segments(text)
    assert [s[2] for s in segs if s[0] == "ST"] == ["0001", "0002"]
    assert next(s for s in segs if s[0] == "GE") == ["GE", "2", "7"]
    assert pyx12_validate(text)[0]


def test_write_837_more_than_100_claims_of_one_subscriber_open_another_loop():
    # given 150 claims of the same member and payer (loop 2300 repeats at most 100 times)
    text = w.write_837(ENV, PROVIDER, [_claim(pcn=f"P{i}") for i in range(150)])
    # then two subscriber loops carry 100 and 50 claims, and pyx12 accepts the file
    segs = _segments(text)
    assert sum(1 for s in segs if s[0] == "HL" and s[3] == "22") == 2
    assert pyx12_validate(text)[0]


def test_write_837_refuses_a_claim_of_more_than_50_lines():
    lines = [w.Line("99213", Decimal("1"), Decimal("1"), date(2026, 2, 1))] * 51
    with pytest.raises(ValueError, match="1 to 50 service lines"):
        w.write_837(ENV, PROVIDER, [_claim(lines=lines)])


def test_pyx12_rejects_a_broken_837():
    # given a written file whose SE count was tampered with (the validator must catch it)
    text = w.write_837(ENV, PROVIDER, [_claim()])
    se = next(s for s in text.split("~") if s.startswith("SE*"))
    broken = text.replace(se, "SE*99*0001")
    # then pyx12 does not accept it
    assert pyx12_validate(broken)[0] is False


def test_write_837_needs_a_claim():
    with pytest.raises(ValueError):
        w.write_837(ENV, PROVIDER, [])


@pytest.mark.parametrize(
    ("value", "text"),
    [("100.00", "100"), ("100.50", "100.5"), ("0.05", "0.05"), ("1234.5", "1234.5")],
)
def test_amount_format(value, text):
    assert w.amount(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("25", ["25"]), ("25,59", ["25", "59"]), ("25 lt", ["25", "LT"]), ("2559", ["25", "59"]),
     ("", []), ("ABC", ["AB"]), ("1,2,3,4,5,6,7,8,9,10", ["10"])],
)  # fmt: skip
def test_modifiers_are_pairs(value, expected):
    assert w.modifiers(value) == expected


def test_clean_keeps_the_x12_character_set():
    assert w.clean("Zoë  O*Neil~\n") == "Zoe O Neil"
    assert w.required("名前", 60) == "UNKNOWN"
    assert w.required("h", 80, minimum=2) == "h "


_text = st.text(max_size=90)


# pyx12 loads its map on every validation (~0.5 s): a few examples, no shrinking
@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate])
@example(
    last="", first="", member_id="h", pcn="", payer_name="", code="", modifier="2559x",
    cents=[930041188], units=Decimal("826.400"),
)  # fmt: skip
@given(
    last=_text,
    first=_text,
    member_id=_text,
    pcn=_text,
    payer_name=_text,
    code=_text,
    modifier=_text,
    cents=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=4),
    units=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999"), places=3),
)
def test_write_837_any_text_and_amounts_still_validate(
    last, first, member_id, pcn, payer_name, code, modifier, cents, units
):
    # given whatever text the charges and members hold (accents, delimiters, control
    # characters, empty values, other scripts) and any positive amounts
    lines = [w.Line(code, Decimal(c) / 100, units, date(2026, 2, 1), modifier) for c in cents]
    c = w.Claim(pcn, sum((ln.amount for ln in lines), Decimal("0")), payer_name, "P1",
                member_id, last, first, date(1980, 1, 2), lines)  # fmt: skip
    # when the interchange is written, then pyx12 accepts it
    ok, ack = pyx12_validate(w.write_837(ENV, PROVIDER, [c]))
    assert ok, ack
