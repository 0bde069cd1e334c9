"""X12 835 remittance files -> REMITTANCE records (one per CLP, the columns of remit_rows).

Segments come from `x12_835_envelope.read_segments` (pyx12 checks every envelope); the
mapping is ours and documented in docs/remittance-format.md:

| column | 835 source |
| --- | --- |
| payer_code | the upload's payer, else N1*PR04 or TRN03 = Payer.x12_payer_id, else N1*PR02 = name |
| trace_number, trace_originator | TRN02, TRN03 |
| payment_amount, payment_method, payment_date | BPR02, BPR04, BPR16 |
| patient_control_number ... payer_claim_control_number | CLP01, CLP02, CLP03, CLP04, CLP05, CLP07 |
| member_id | NM1*QC09, else NM1*IL09 |
| service_date, service_date_to | DTM*232 / DTM*233, else the span of the SVC lines' dates |
| adjustments | every CAS triple (claim level, then `L<n>/` for line n) |
| remarks | MOA/MIA remark codes, LQ*HE (`L<n>/` for line n) |
| lines | one object per SVC: line, code, modifier, charge, paid, units, service_date, |
|       | service_date_to, adjustments, remarks (+ modifiers, control_number from REF*6R) |
| warnings | problems that do not stop posting (BPR16 date, PER*BL contact, BPR02 vs CLP04 - PLB, |
|          | claim and line balancing, unreadable service dates) |

The row number of a record is the position of its CLP segment in the file (ISA is 1). A file
that cannot be read as a whole (envelope, structure, unknown payer) raises FileRejected and
loads nothing. Messages name segments by position, never a patient's identifiers (PHI).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from denials.remit_rows import COLUMNS, Adjustment, Remark
from denials.x12_835_envelope import Segment, read_segments
from ingestion.parsers import FileRejected, ParsedRow, decode_text

TENANT_OPTION = "_tenant_id"  # set by ingestion from the upload's tenant, never by a user
_ENVELOPE = {"ISA", "IEA", "GS", "GE"}
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)", re.ASCII)
_CENT = Decimal("0.01")
# Components of SVC01 that are a procedure qualifier (then code, then up to four modifiers).
_PROCEDURE_QUALIFIERS = frozenset(
    ("AD", "ER", "HC", "HP", "IV", "N1", "N2", "N3", "N4", "N6", "NU", "UI", "WK", "ZZ")
)


def _number(text: str) -> Decimal | None:
    return Decimal(text) if _NUMBER.fullmatch(text or "") else None


@lru_cache(maxsize=8192)  # amounts and dates repeat: one shared string each
def _money(text: str) -> str:
    """An X12 amount as text with 2 decimals; left as sent when it is not one (named later)."""
    value = _number(text)
    if value is None or value != value.quantize(_CENT):
        return text
    return str(value.quantize(_CENT))


@lru_cache(maxsize=8192)
def _d8(text: str) -> str | None:
    """CCYYMMDD -> ISO date; None when it is not a date."""
    if not re.fullmatch(r"\d{8}", text or "", re.ASCII):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])).isoformat()
    except ValueError:
        return None


@dataclass
class _Line:
    number: int
    segment: int
    data: dict


@dataclass
class _Claim:
    segment: Segment
    member_qc: str = ""
    member_il: str = ""
    service_date: str = ""
    service_date_to: str = ""
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[Remark] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def line(self) -> _Line | None:
        return self.lines[-1] if self.lines else None


@dataclass
class _Transaction:
    segment: Segment
    control: str
    payment_amount: str = ""
    payment_method: str = ""
    payment_date: str = ""
    has_bpr: bool = False
    trace_number: str = ""
    trace_originator: str = ""
    payer_name: str = ""
    payer_id: str = ""
    payer_code: str = ""
    payer_contact: bool = False
    loop: str = ""  # the 1000 loop being read: "PR" (payer) or "PE" (payee)
    plb_total: Decimal = Decimal("0")
    paid_total: Decimal = Decimal("0")
    paid_unreadable: bool = False
    rows: list[ParsedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def where(self) -> str:
        return f"transaction {self.control} (segment {self.segment.index})"


class PayerLookup(Protocol):
    def resolve(self, *, payer_id: str, trace_originator: str, name: str, where: str) -> str: ...


def parse_835(content: bytes, payers: PayerLookup) -> list[ParsedRow]:
    """The REMITTANCE records of every 835 transaction of the file, in file order.

    Structure errors and a payer `payers` cannot resolve raise FileRejected.
    """
    text = decode_text(content).strip()
    rows: list[ParsedRow] = []
    transactions = 0
    txn: _Transaction | None = None
    claim: _Claim | None = None
    for seg in read_segments(text):
        sid = seg.seg_id
        if sid in _ENVELOPE:
            continue
        if sid == "ST":
            if seg.value(1) != "835":
                raise FileRejected(
                    f"segment {seg.index}: transaction set {seg.value(1) or '(none)'} is not an "
                    "835 remittance advice; send the 835 file for REMITTANCE"
                )
            txn, claim = _Transaction(seg, seg.value(2)), None
            transactions += 1
            continue
        if txn is None:
            what = "a claim payment (CLP)" if sid == "CLP" else f"a {sid} segment"
            raise FileRejected(
                f"segment {seg.index}: {what} outside a transaction: every 835 segment must sit "
                "between an ST and its SE segment"
            )
        if sid in ("CLP", "LX", "PLB", "SE") and claim is not None:
            txn.rows.append(_claim_row(txn, claim))
            claim = None
        if sid == "SE":
            rows.extend(_close(txn))
            txn = None
        elif sid == "CLP":
            if not txn.payer_code:
                _start_claims(txn, seg, payers)
            claim = _Claim(seg)
        elif sid == "PLB":
            _plb(txn, seg)
        elif claim is None:
            _header(txn, seg)
        elif sid != "LX":
            _claim_segment(claim, seg)
    if not transactions:
        raise FileRejected("the X12 file holds no transaction set (no ST segment)")
    if not rows:
        raise FileRejected("the 835 file holds no claim payments (CLP segments)")
    return rows


def _start_claims(txn: _Transaction, seg: Segment, payers: PayerLookup) -> None:
    """At the first CLP: the header must be complete; the payer is resolved once."""
    _require_header(txn, seg)
    txn.payer_code = payers.resolve(
        payer_id=txn.payer_id,
        trace_originator=txn.trace_originator,
        name=txn.payer_name,
        where=txn.where(),
    )
    if not txn.payer_contact:
        txn.warnings.append(
            "the payer's technical contact (PER*BL in loop 1000A) is missing; ask the payer "
            "for it when a question about this payment comes up"
        )


def _require_header(txn: _Transaction, seg: Segment) -> None:
    missing = [
        name
        for name, ok in (
            ("its BPR segment", txn.has_bpr),
            ("its TRN segment with a TRN02 trace number", txn.trace_number),
        )
        if not ok
    ]
    if missing:
        raise FileRejected(
            f"segment {seg.index}: the first claim payment (CLP) of {txn.where()} comes before "
            f"{' and '.join(missing)}: an 835 "
            "names the payment (BPR) and its trace number (TRN02) before its claims"
        )


def _header(txn: _Transaction, seg: Segment) -> None:
    sid = seg.seg_id
    if sid == "BPR":
        txn.has_bpr = True
        txn.payment_amount = _money(seg.value(2))
        txn.payment_method = seg.value(4)[:3]
        raw = seg.value(16)
        txn.payment_date = _d8(raw) or ""
        if raw and not txn.payment_date:
            txn.warnings.append(
                f"BPR16 payment date '{raw[:20]}' is not a date (CCYYMMDD); the payment date "
                "is left empty"
            )
    elif sid == "TRN":
        txn.trace_number = seg.value(2).strip()
        txn.trace_originator = seg.value(3).strip()
    elif sid == "N1":
        txn.loop = seg.value(1)
        if txn.loop == "PR":
            txn.payer_name = seg.value(2).strip()
            txn.payer_id = seg.value(4).strip()
    elif sid == "PER" and txn.loop == "PR" and seg.value(1) == "BL":
        txn.payer_contact = True
    elif sid in ("SVC", "CAS", "LQ", "NM1", "MOA", "MIA"):
        raise FileRejected(
            f"segment {seg.index}: a {sid} segment of {txn.where()} is not inside a claim "
            "payment (CLP): the CLP segment before it is missing"
        )


def _plb(txn: _Transaction, seg: Segment) -> None:
    for position in range(4, 15, 2):
        raw = seg.value(position)
        if not raw:
            continue
        amount = _number(raw)
        if amount is None:
            txn.warnings.append(
                f"segment {seg.index} (PLB): adjustment amount '{raw[:20]}' is not a number; "
                "it is left out of the BPR02 check"
            )
        else:
            txn.plb_total += amount


def _claim_segment(claim: _Claim, seg: Segment) -> None:
    sid, line = seg.seg_id, claim.line
    if sid == "SVC":
        claim.lines.append(_Line(len(claim.lines) + 1, seg.index, _svc(seg)))
    elif sid == "NM1" and seg.value(1) == "QC":
        claim.member_qc = seg.value(9)
    elif sid == "NM1" and seg.value(1) == "IL":
        claim.member_il = seg.value(9)
    elif sid == "DTM":
        _dtm(claim, line, seg)
    elif sid == "CAS":
        for adjustment in _cas(claim, seg, line.number if line else None):
            claim.adjustments.append(adjustment)
            if line:
                line.data["adjustments"].append(adjustment.as_dict())
    elif sid == "LQ" and seg.value(1) == "HE" and seg.value(2):
        claim.remarks.append(Remark(seg.value(2), line.number if line else None))
        if line:
            line.data["remarks"].append(seg.value(2))
    elif sid in ("MOA", "MIA") and line is None:
        positions = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
        claim.remarks.extend(Remark(seg.value(p)) for p in positions if seg.value(p))
    elif sid == "REF" and seg.value(1) == "6R" and line:
        line.data["control_number"] = seg.value(2)


def _svc(seg: Segment) -> dict:
    procedure = seg.components(1)
    if len(procedure) < 2 or procedure[0] not in _PROCEDURE_QUALIFIERS:
        separator = seg.component_separator
        raise FileRejected(
            f"segment {seg.index}: SVC01 '{seg.value(1)[:40]}' is not a qualifier and a "
            f"procedure code separated by the component separator '{separator}' that ISA16 "
            "declares: the file uses another component separator than its ISA header says"
        )
    modifiers = [m for m in procedure[2:6] if m]
    return {
        "line": 0,
        "code": procedure[1],
        "modifier": modifiers[0] if modifiers else "",
        "modifiers": modifiers,
        "charge": _money(seg.value(2)),
        "paid": _money(seg.value(3)),
        "units": seg.value(5) or "1",
        "service_date": "",
        "service_date_to": "",
        "adjustments": [],
        "remarks": [],
    }


def _dtm(claim: _Claim, line: _Line | None, seg: Segment) -> None:
    qualifier, raw = seg.value(1), seg.value(2)
    start = end = None
    if seg.value(5) == "RD8":  # a range in DTM06: CCYYMMDD-CCYYMMDD
        raw = seg.value(6)
        start, _, end = raw.partition("-")
        start, end = _d8(start), _d8(end)
    else:
        start = end = _d8(raw)
    if raw and start is None:
        claim.warnings.append(
            f"segment {seg.index} (DTM*{qualifier}): the service date is not a date "
            "(CCYYMMDD); it is left empty"
        )
        return
    if line is None:
        if qualifier == "232":
            claim.service_date = start or ""
            claim.service_date_to = claim.service_date_to or end or ""
        elif qualifier == "233":
            claim.service_date_to = start or ""
        return
    if qualifier == "472":
        line.data["service_date"], line.data["service_date_to"] = start or "", end or ""
    elif qualifier == "150":
        line.data["service_date"] = start or ""
        line.data["service_date_to"] = line.data["service_date_to"] or start or ""
    elif qualifier == "151":
        line.data["service_date_to"] = start or ""


def _cas(claim: _Claim, seg: Segment, line: int | None) -> list[Adjustment]:
    group, out = seg.value(1), []
    for position in range(2, 19, 3):
        carc, raw = seg.value(position), seg.value(position + 1)
        if not carc and not raw:
            continue
        amount = _number(raw)
        if not carc or amount is None or amount != amount.quantize(_CENT):
            claim.problems.append(
                f"segment {seg.index} (CAS): expected a reason code and an amount with at most "
                f"2 decimals at CAS{position:02d}/CAS{position + 1:02d}, found '{carc[:10]}' "
                f"and '{raw[:20]}'"
            )
            continue
        out.append(Adjustment(group, carc, amount.quantize(_CENT), line))
    return out


def _close(txn: _Transaction) -> list[ParsedRow]:
    """At SE: BPR02 against the claims; the transaction's warnings go on each of its claims."""
    total = _number(txn.payment_amount)
    if txn.rows and total is not None and not txn.paid_unreadable:
        expected = txn.paid_total - txn.plb_total
        if expected != total:
            txn.warnings.append(
                f"BPR02 payment {total.quantize(_CENT)} differs from the claims' paid amounts "
                f"(CLP04) {txn.paid_total.quantize(_CENT)} minus provider adjustments (PLB) "
                f"{txn.plb_total.quantize(_CENT)} = {expected.quantize(_CENT)}"
            )
    if not txn.warnings:
        return txn.rows
    out = []
    for row in txn.rows:
        own = json.loads(row.data["warnings"]) if row.data["warnings"] else []
        row.data["warnings"] = json.dumps([*txn.warnings, *own])
        out.append(row)
    return out


def _balancing(claim: _Claim) -> list[str]:
    """The 835 balancing rules: charge - paid = adjustments, for the claim and each line."""
    out = []
    charge, paid = _number(claim.segment.value(3)), _number(claim.segment.value(4))
    if charge is not None and paid is not None and not claim.problems:
        adjusted = sum((a.amount for a in claim.adjustments), Decimal("0"))
        if charge - paid != adjusted:
            out.append(
                f"segment {claim.segment.index} (CLP): charge {charge.quantize(_CENT)} - paid "
                f"{paid.quantize(_CENT)} = {(charge - paid).quantize(_CENT)}, but its "
                f"adjustments (CAS) sum to {adjusted.quantize(_CENT)}"
            )
    for line in claim.lines:
        charge, paid = _number(line.data["charge"]), _number(line.data["paid"])
        adjusted = sum((Decimal(a["amount"]) for a in line.data["adjustments"]), Decimal("0"))
        if charge is not None and paid is not None and charge - paid != adjusted:
            out.append(
                f"segment {line.segment} (SVC line {line.number}): charge "
                f"{charge.quantize(_CENT)} - paid {paid.quantize(_CENT)} differs from its "
                f"adjustments {adjusted.quantize(_CENT)}"
            )
    return out


def _span(claim: _Claim) -> tuple[str, str]:
    if claim.service_date:
        return claim.service_date, claim.service_date_to or claim.service_date
    starts = [ln.data["service_date"] for ln in claim.lines if ln.data["service_date"]]
    ends = [ln.data["service_date_to"] or ln.data["service_date"] for ln in claim.lines]
    ends = [e for e in ends if e]
    return (min(starts) if starts else "", max(ends) if ends else "")


def _claim_row(txn: _Transaction, claim: _Claim) -> ParsedRow:
    """One REMITTANCE record: the claim with its transaction's payment, trace and payer."""
    clp = claim.segment
    paid = _number(clp.value(4))
    if paid is None:
        txn.paid_unreadable = True
    else:
        txn.paid_total += paid
    for line in claim.lines:
        line.data["line"] = line.number
    start, end = _span(claim)
    warnings = [*claim.warnings, *_balancing(claim)]
    data = dict.fromkeys(COLUMNS, "")
    data.update(
        payer_code=txn.payer_code,
        trace_number=txn.trace_number,
        trace_originator=txn.trace_originator,
        payment_amount=txn.payment_amount,
        payment_method=txn.payment_method,
        payment_date=txn.payment_date,
        patient_control_number=clp.value(1).strip(),
        status_code=clp.value(2),
        charge_amount=_money(clp.value(3)),
        paid_amount=_money(clp.value(4)),
        patient_responsibility=_money(clp.value(5) or "0"),
        payer_claim_control_number=clp.value(7).strip(),
        member_id=(claim.member_qc or claim.member_il).strip(),
        service_date=start,
        service_date_to=end,
        adjustments=";".join(a.text() for a in claim.adjustments),
        remarks=";".join(r.text() for r in claim.remarks),
        lines=json.dumps([ln.data for ln in claim.lines], separators=(",", ":"))
        if claim.lines
        else "",
        warnings=json.dumps(warnings) if warnings else "",
    )
    return ParsedRow(clp.index, data, "; ".join(claim.problems))


def read_835_for_ingestion(content: bytes, options: dict) -> list[ParsedRow]:
    """REMITTANCE records from an 835 file: one per CLP, every transaction's payer resolved.

    `options`: `payer_code` (the upload's payer, overrides the file) and `_tenant_id` (the
    tenant whose payers the file's N1*PR / TRN03 are resolved against; ingestion sets it).
    """
    from denials.x12_835_payers import PayerResolver

    return parse_835(content, PayerResolver.for_options(options))
