"""The 837P writer (005010X222A1): plain dataclasses in, the interchange text out. No ORM.

Layout of one interchange (see docs/837p.md for every element):

    ISA / GS (HC) / ST 837
      BHT, 1000A submitter (NM1*41, PER), 1000B receiver (NM1*40)
      2000A billing provider HL (NM1*85, N3, N4, REF*EI)
        2000B subscriber HL per (payer, member): SBR, 2010BA NM1*IL (+DMG), 2010BB NM1*PR
          2300 claim per claim: CLM, REF*G1 (prior authorization), REF*F8 (the payer's control
               number of the claim a replacement replaces; CLM05-3 = 7), HI
            2320 other payer (secondary claims): SBR, CAS, AMT*D, OI
              2330A other subscriber NM1*IL, 2330B other payer NM1*PR
            2400 line per claim line: LX, SV1, DTP*472
    SE / GE / IEA

A transaction set carries at most `MAX_CLAIMS_PER_ST` claims (the guide's recommended limit);
more claims open further ST..SE sets in the same functional group.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

VERSION = "005010X222A1"
ELEMENT, COMPONENT, REPETITION, SEGMENT = "*", ":", "^", "~"
MAX_CLAIMS_PER_ST = 5000
MAX_CLAIMS_PER_SUBSCRIBER = 100  # loop 2300 repeats at most 100 times per 2000B
MAX_LINES_PER_CLAIM = 50  # loop 2400 repeats at most 50 times per claim
# Charges carry no diagnosis, yet HI (principal diagnosis) is required on every 837P claim:
# until diagnoses are captured, claims carry ICD-10 R69 ("illness, unspecified").
DEFAULT_DIAGNOSIS = "R69"
PLACE_OF_SERVICE = "11"  # office
CLAIM_FILING_INDICATOR = "CI"  # commercial insurance

_UNSAFE = re.compile(r"[*:^~\r\n]")


@dataclass(frozen=True)
class Provider:
    """The billing provider and the submitter's contact (from the tenant's claims settings)."""

    name: str
    npi: str
    tax_id: str
    address: str
    city: str
    state: str
    zip: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class Envelope:
    """ISA/GS identifiers and the control numbers given to this interchange."""

    sender_id: str
    receiver_id: str
    receiver_name: str
    interchange_control_number: int
    group_control_number: int
    created: datetime
    usage: str = "T"


@dataclass(frozen=True)
class Line:
    """One service line (SV1 + DTP*472)."""

    code: str
    amount: Decimal
    units: Decimal
    service_date: date
    modifier: str = ""


@dataclass(frozen=True)
class OtherPayer:
    """The payer that adjudicated the claim before this one (loops 2320/2330A/2330B)."""

    payer_name: str
    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    paid: Decimal
    adjustments: list[tuple[str, str, Decimal]] = field(default_factory=list)  # group, CARC, amt
    sequence: str = "P"


@dataclass(frozen=True)
class Claim:
    """One claim (CLM) with its subscriber and payer; a replacement carries frequency 7 and the
    original's payer control number; a secondary claim its payer sequence and the prior payer."""

    patient_control_number: str
    billed_amount: Decimal
    payer_name: str
    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    birth_date: date | None
    lines: list[Line] = field(default_factory=list)
    frequency_code: str = "1"
    original_reference: str = ""
    authorization: str = ""
    payer_sequence: str = "P"
    other: OtherPayer | None = None


def clean(value: str, limit: int | None = None) -> str:
    """A text element in the X12 character set: accents dropped (Zoë -> Zoe), other non-ASCII,
    control characters, delimiters and line breaks removed, spaces collapsed, cut to `limit`."""
    text = unicodedata.normalize("NFKD", str(value or "")).encode("ascii", "ignore").decode()
    text = "".join(ch if " " <= ch <= "~" else " " for ch in _UNSAFE.sub(" ", text))
    text = " ".join(text.split())
    return text[:limit].rstrip() if limit else text


def required(value: str, limit: int, fallback: str = "UNKNOWN", minimum: int = 1) -> str:
    """`clean` for an element the guide requires: never empty, and padded with trailing spaces
    up to its minimum length (X12 allows trailing spaces only for that)."""
    return (clean(value, limit) or fallback).ljust(minimum)


def amount(value: Decimal) -> str:
    """X12 R type: no trailing zeros after the point, no exponent (100.50 -> 100.5, 100 -> 100)."""
    text = format(Decimal(value).quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(value: Decimal) -> str:
    """Units as an R value (1.000 -> 1, 1.500 -> 1.5)."""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def modifiers(value: str) -> list[str]:
    """Up to four two-character procedure modifiers from '25', '25,59', '25 59' or '2559'."""
    text = clean(value).upper()
    pairs = [t[i : i + 2] for t in re.split(r"[^0-9A-Z]+", text) for i in range(0, len(t), 2)]
    return [p for p in pairs if len(p) == 2][:4]


def _segment(*elements: str) -> str:
    parts = list(elements)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return ELEMENT.join(parts) + SEGMENT


def _isa(env: Envelope) -> str:
    return _segment(
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        required(env.sender_id, 15).ljust(15),
        "ZZ",
        required(env.receiver_id, 15).ljust(15),
        env.created.strftime("%y%m%d"),
        env.created.strftime("%H%M"),
        REPETITION,
        "00501",
        f"{env.interchange_control_number:09d}",
        "0",
        env.usage if env.usage in ("T", "P") else "T",
        COMPONENT,
    )


def _header(env: Envelope, provider: Provider, st_control: str) -> list[str]:
    return [
        _segment("ST", "837", st_control, VERSION),
        _segment(
            "BHT",
            "0019",
            "00",
            f"{env.interchange_control_number:09d}{st_control}",
            env.created.strftime("%Y%m%d"),
            env.created.strftime("%H%M"),
            "CH",
        ),
        _segment(
            "NM1",
            "41",
            "2",
            required(provider.name, 60),
            "",
            "",
            "",
            "",
            "46",
            required(env.sender_id, 80, minimum=2),
        ),  # fmt: skip
        _segment(
            "PER",
            "IC",
            required(provider.contact_name, 60),
            "TE",
            re.sub(r"\D", "", provider.contact_phone)[:256] or "0000000000",
        ),  # fmt: skip
        _segment(
            "NM1",
            "40",
            "2",
            required(env.receiver_name, 60),
            "",
            "",
            "",
            "",
            "46",
            required(env.receiver_id, 80, minimum=2),
        ),  # fmt: skip
        _segment("HL", "1", "", "20", "1"),
        _segment(
            "NM1",
            "85",
            "2",
            required(provider.name, 60),
            "",
            "",
            "",
            "",
            "XX",
            required(provider.npi, 80, minimum=2),
        ),  # fmt: skip
        _segment("N3", required(provider.address, 55)),
        _segment(
            "N4",
            required(provider.city, 30, minimum=2),
            required(provider.state, 2, "XX"),
            re.sub(r"\D", "", provider.zip)[:15],
        ),  # fmt: skip
        _segment("REF", "EI", re.sub(r"\D", "", provider.tax_id)[:9]),
    ]


def _subscriber(hl: int, first: Claim) -> list[str]:
    segs = [
        _segment("HL", str(hl), "1", "22", "0"),
        _segment("SBR", first.payer_sequence, "18", "", "", "", "", "", "", CLAIM_FILING_INDICATOR),
        _segment(
            "NM1",
            "IL",
            "1",
            required(first.last_name, 60),
            clean(first.first_name, 35),
            "",
            "",
            "",
            "MI",
            required(first.member_id, 80, minimum=2),
        ),  # fmt: skip
    ]
    if first.birth_date:
        segs.append(_segment("DMG", "D8", first.birth_date.strftime("%Y%m%d"), "U"))
    segs.append(
        _segment(
            "NM1",
            "PR",
            "2",
            required(first.payer_name, 60),
            "",
            "",
            "",
            "",
            "PI",
            required(first.payer_id, 80, minimum=2),
        )  # fmt: skip
    )
    return segs


def _claim(claim: Claim) -> list[str]:
    segs = [
        _segment(
            "CLM",
            required(claim.patient_control_number, 38),
            amount(claim.billed_amount),
            "",
            "",
            COMPONENT.join([PLACE_OF_SERVICE, "B", claim.frequency_code or "1"]),
            "Y",
            "A",
            "Y",
            "Y",
        ),
    ]
    if clean(claim.authorization, 50):
        segs.append(_segment("REF", "G1", clean(claim.authorization, 50)))
    if claim.frequency_code in ("7", "8") and clean(claim.original_reference, 50):
        segs.append(_segment("REF", "F8", clean(claim.original_reference, 50)))
    segs.append(_segment("HI", f"ABK{COMPONENT}{DEFAULT_DIAGNOSIS}"))
    if claim.other is not None:
        segs += _other_payer(claim.other)
    for number, line in enumerate(claim.lines, start=1):
        procedure = COMPONENT.join(["HC", required(line.code, 48), *modifiers(line.modifier)])
        segs += [
            _segment("LX", str(number)),
            _segment(
                "SV1", procedure, amount(line.amount), "UN", quantity(line.units), "", "", "1"
            ),  # fmt: skip
            _segment("DTP", "472", "D8", line.service_date.strftime("%Y%m%d")),
        ]
    return segs


def _cas(adjustments: list[tuple[str, str, Decimal]]) -> list[str]:
    """One CAS per group code, at most six (CARC, amount, quantity) triples each."""
    by_group: dict[str, list[tuple[str, Decimal]]] = {}
    for group, carc, value in adjustments:
        code = clean(group, 2).upper()
        if code and clean(carc, 5):
            by_group.setdefault(code, []).append((clean(carc, 5), Decimal(value)))
    segs = []
    for group, triples in by_group.items():
        for i in range(0, len(triples), 6):
            elements = []
            for carc, value in triples[i : i + 6]:
                elements += [carc, amount(value), ""]
            segs.append(_segment("CAS", group, *elements))
    return segs


def _other_payer(other: OtherPayer) -> list[str]:
    """Loop 2320 (the prior payer's adjudication) with 2330A and 2330B."""
    return [
        _segment("SBR", other.sequence, "18", "", "", "", "", "", "", CLAIM_FILING_INDICATOR),
        *_cas(other.adjustments),
        _segment("AMT", "D", amount(other.paid)),
        _segment("OI", "", "", "Y", "", "", "Y"),
        _segment(
            "NM1",
            "IL",
            "1",
            required(other.last_name, 60),
            clean(other.first_name, 35),
            "",
            "",
            "",
            "MI",
            required(other.member_id, 80, minimum=2),
        ),  # fmt: skip
        _segment(
            "NM1",
            "PR",
            "2",
            required(other.payer_name, 60),
            "",
            "",
            "",
            "",
            "PI",
            required(other.payer_id, 80, minimum=2),
        ),  # fmt: skip
    ]


def _subscriber_groups(claims: list[Claim]) -> list[list[Claim]]:
    """Claims of one (payer, member, payer sequence) share a subscriber loop, in first-seen
    order; a subscriber with more than 100 claims gets another loop for each further 100."""
    groups: dict[tuple[str, str, str], list[Claim]] = {}
    for c in claims:
        groups.setdefault((c.payer_id, c.member_id, c.payer_sequence), []).append(c)
    size = MAX_CLAIMS_PER_SUBSCRIBER
    return [g[i : i + size] for g in groups.values() for i in range(0, len(g), size)]


def _transaction(env: Envelope, provider: Provider, claims: list[Claim], st_number: int) -> str:
    st_control = f"{st_number:04d}"
    segs = _header(env, provider, st_control)
    hl = 1
    for group in _subscriber_groups(claims):
        hl += 1
        segs += _subscriber(hl, group[0])
        for c in group:
            segs += _claim(c)
    segs.append(_segment("SE", str(len(segs) + 1), st_control))
    return "".join(segs)


def write_837(env: Envelope, provider: Provider, claims: list[Claim]) -> str:
    """The whole interchange text (segments end with '~', no line breaks)."""
    if not claims:
        raise ValueError("an 837P interchange needs at least one claim")
    too_long = [c.patient_control_number for c in claims if len(c.lines) > MAX_LINES_PER_CLAIM]
    if too_long or any(not c.lines for c in claims):
        raise ValueError(f"an 837P claim has 1 to {MAX_LINES_PER_CLAIM} service lines")
    chunks = [claims[i : i + MAX_CLAIMS_PER_ST] for i in range(0, len(claims), MAX_CLAIMS_PER_ST)]
    gcn = str(env.group_control_number)
    parts = [
        _isa(env),
        _segment(
            "GS",
            "HC",
            required(env.sender_id, 15),
            required(env.receiver_id, 15),
            env.created.strftime("%Y%m%d"),
            env.created.strftime("%H%M"),
            gcn,
            "X",
            VERSION,
        ),
    ]
    parts += [_transaction(env, provider, chunk, n) for n, chunk in enumerate(chunks, start=1)]
    parts.append(_segment("GE", str(len(chunks)), gcn))
    parts.append(_segment("IEA", "1", f"{env.interchange_control_number:09d}"))
    return "".join(parts)
