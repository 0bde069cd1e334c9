"""Broken 835 files (issue 13, build 5): envelope and structure errors refuse the whole file
with the problem named; no input crashes the reader."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from denials.x12_835 import read_835_for_ingestion
from ingestion.parsers import FileRejected
from tests.denials import x835_files as f

UPLOAD = {"payer_code": "ACME"}
GOOD = f.simple_file().decode()
SAMPLE = f.SAMPLE.read_text()


def refusal(content: str | bytes) -> str:
    raw = content.encode() if isinstance(content, str) else content
    with pytest.raises(FileRejected) as caught:
        read_835_for_ingestion(raw, UPLOAD)
    return caught.value.message


def second_interchange(**kwargs) -> str:
    return f.interchange(
        [f.transaction([f.claim("B1", pccn="P2")], trace="EFT2")],
        control="000000102",
        group="102",
        **kwargs,
    )


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (
            GOOD.replace("IEA*1*000000101", "IEA*1*000000999"),
            "IEA id=000000999 does not match ISA id=000000101",
        ),
        (GOOD.replace("IEA*1*", "IEA*2*"), "IEA count for IEA02=000000101 is wrong"),
        (GOOD.replace("GE*1*101", "GE*3*101"), "GE count of 3 for GE02=101 is wrong"),
        (GOOD.replace("GE*1*101", "GE*1*999"), "GE id=999 does not match GS id=101"),
        (GOOD.replace("SE*16*0001", "SE*5*0001"), "SE count of 5 for SE02=0001 is wrong"),
        (GOOD.replace("SE*16*0001", "SE*16*0009"), "SE id=0009 does not match ST id=0001"),
        (GOOD.replace("IEA*1*000000101~\n", ""), 'Mandatory segment "Interchange Control'),
        (GOOD[: GOOD.index("SE*")], 'Mandatory segment "Transaction Set Trailer" (SE=0001)'),
        (GOOD[:60], "ISA line is only 60 characters"),
        (GOOD[:106] + GOOD[106:].replace("~", ""), "declares '~' as the segment terminator"),
        (GOOD.replace("ST*835*", "ST*834*"), "transaction set 834 is not an 835"),
        ("GS*HP*X*Y*20260101*1200*1*X*005010X221A1~", "it must start with an ISA segment"),
        ("", "the file is empty"),
    ],
    ids=[
        "isa13-vs-iea02",
        "iea01-count",
        "ge01-count",
        "ge02-vs-gs06",
        "se01-count",
        "se02-vs-st02",
        "missing-iea",
        "truncated-body",
        "truncated-isa",
        "wrong-terminator",
        "not-835",
        "no-isa",
        "empty",
    ],
)
def test_broken_envelope_refuses_the_file_naming_the_problem(broken, named):
    # given a file broken in one way; when read; then it is refused with the problem named
    assert named in refusal(broken)


def test_component_separator_other_than_isa16_is_refused():
    # given an ISA16 of ':' while the SVC segments use '>'
    content = f.interchange([f.transaction([f.claim()])], svc_comp=">")
    message = refusal(content)
    # then the file is refused naming SVC01 and the declared separator
    assert "SVC01 'HC>99213'" in message and "component separator ':'" in message
    # and the other way round: ISA16 '>' while the SVC segments use ':'
    content = f.interchange([f.transaction([f.claim()])], comp=">", svc_comp=":")
    assert "component separator '>'" in refusal(content)


def test_isa16_equal_to_the_element_separator_is_refused():
    # given an ISA header whose component separator is '*' (its element separator)
    broken = GOOD[:104] + "*" + GOOD[105:]
    # then refused naming ISA16
    assert "ISA16 declares '*'" in refusal(broken)


def test_clp_outside_a_transaction_is_refused():
    # given a CLP between SE and GE (after its transaction ended)
    broken = GOOD.replace("GE*1*101~", "CLP*X*1*1*1**12*P9*11~\nGE*1*101~")
    # then refused, naming the segment position
    assert "segment 19: a claim payment (CLP) outside a transaction" in refusal(broken)


def test_svc_before_any_clp_is_refused():
    # given a service line before the first claim of the transaction
    broken = GOOD.replace("LX*1~", "LX*1~\nSVC*HC:99213*1*1**1~").replace("SE*16*", "SE*17*")
    assert "SVC segment of transaction 0001 (segment 3) is not inside a claim" in refusal(broken)


def test_clp_before_the_trace_number_is_refused():
    # given a transaction whose TRN segment is missing
    broken = GOOD.replace("TRN*1*EFT100*1999999999~\n", "").replace("SE*16*", "SE*15*")
    assert "comes before its TRN segment" in refusal(broken)


def test_a_file_without_claims_is_refused():
    # given a payment with no CLP at all
    empty = f.interchange([f.transaction([], amount="0")])
    assert "holds no claim payments" in refusal(empty)


def test_junk_after_an_interchange_is_refused():
    # given text after the IEA that is not another interchange
    assert "after interchange 1" in refusal(GOOD + "THIS IS NOT X12")


def test_a_broken_second_interchange_refuses_the_whole_file():
    # given a good interchange followed by one whose IEA02 disagrees with its ISA13
    broken = second_interchange().replace("IEA*1*000000102", "IEA*1*000000777")
    message = refusal(GOOD + broken)
    # then nothing of the first is returned: the file is refused naming interchange 2
    assert message.startswith("interchange 2: the X12 envelope is broken")
    assert "IEA id=000000777 does not match ISA id=000000102" in message


def test_a_second_interchange_with_other_separators_that_lies_is_refused():
    # given a second interchange declaring '>' while its SVC uses ':'
    broken = second_interchange(comp=">", svc_comp=":")
    assert "component separator '>'" in refusal(GOOD + broken)


def test_refusals_name_no_patient_identifiers():
    # given broken files holding a patient control number and a member id
    files = [
        GOOD.replace("LX*1~", "LX*1~\nSVC*HC:99213*1*1**1~"),
        GOOD.replace("GE*1*101~", "CLP*CLM0001*1*1*1**12*P9*11~\nGE*1*101~"),
        f.interchange([f.transaction([f.claim()])], svc_comp=">"),
    ]
    for content in files:
        message = refusal(content)
        # then neither appears in the message (PHI stays out of errors)
        assert "CLM0001" not in message and "M0001" not in message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=len(SAMPLE)),
    length=st.integers(min_value=0, max_value=40),
    insert=st.text(alphabet="*:~^>|\n ISAEGCLPV0123456789.-", max_size=12),
)
def test_no_edit_of_the_sample_crashes_the_reader(cut, length, insert):
    # given the sample with a slice replaced by separator-heavy text
    content = (SAMPLE[:cut] + insert + SAMPLE[cut + length :]).encode()
    # when read: records or a refusal, never another exception
    try:
        rows = read_835_for_ingestion(content, UPLOAD)
    except FileRejected as exc:
        assert exc.message
    else:
        assert all(r.row_number > 0 for r in rows)


def test_segments_after_a_misplaced_iea_are_refused_without_quoting_them():
    # given an IEA moved before the last claim's segments
    claim = "CLP*CLM0009*1*1*1**12*P9*11~\nNM1*QC*1*EXAMPLE*JANE****MI*M0009~\n"
    message = refusal(GOOD + claim)
    # then the file is refused; the claim's identifiers are not quoted
    assert "after interchange 1" in message and "starting 'CLP'" in message
    assert "CLM0009" not in message and "M0009" not in message


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(alphabet="*:~>|^\n\r SEGCLPVTNIABRQ0123456789.-", max_size=300),
    header=st.booleans(),
)
def test_no_text_after_an_isa_crashes_the_reader(body, header):
    # given a valid ISA header (or just "ISA") followed by anything separator-heavy
    start = GOOD[:107] if header else "ISA"
    try:
        rows = read_835_for_ingestion((start + body).encode(), UPLOAD)
    except FileRejected as exc:
        # then a refusal with a message ...
        assert exc.message
    else:
        # ... or records (never another exception)
        assert isinstance(rows, list)


SEGMENTS = SAMPLE.strip().split("~\n")


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(
        st.tuples(st.integers(min_value=3, max_value=len(SEGMENTS) - 4), st.integers(0, 20)),
        max_size=6,
    )
)
def test_segments_cut_short_inside_a_good_envelope_never_crash(cuts):
    # given the sample with some segments cut after a few elements (envelope still intact)
    segments = list(SEGMENTS)
    for index, keep in cuts:
        elements = segments[index].split("*")
        segments[index] = "*".join(elements[: max(1, keep)])
        if segments[index] in ("ST", "SE") or segments[index].startswith(("ST*", "SE*")):
            segments[index] = SEGMENTS[index]  # keep the envelope itself whole
    content = ("~\n".join(segments) + "~\n").encode()
    # when read: records (each a row of its own) or a refusal, never another exception
    try:
        rows = read_835_for_ingestion(content, UPLOAD)
    except FileRejected as exc:
        assert exc.message
    else:
        assert all(set(r.data) for r in rows)
