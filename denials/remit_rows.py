"""The REMITTANCE record: one claim payment (an 835 CLP, or one row of the CSV equivalent).

The X12 835 reader writes these records, a CSV file sends them directly; the handler reads
them back with `read_row`, which names every field it cannot read. All values are text.

| column | 835 source | CSV |
| --- | --- | --- |
| payer_code | N1*PR04 / TRN03 resolved to a payer (or the upload's payer) | required |
| trace_number | TRN02 (check or EFT trace) | required |
| trace_originator | TRN03 | optional |
| payment_amount | BPR02 | required |
| payment_method | BPR04 (ACH, CHK, NON, ...) | optional |
| payment_date | BPR16 (empty when invalid; a warning says so) | optional, YYYY-MM-DD |
| patient_control_number | CLP01 | required |
| status_code | CLP02 (1, 2, 3, 4, 19, 20, 21, 22, 23) | required |
| charge_amount | CLP03 | required |
| paid_amount | CLP04 | required |
| patient_responsibility | CLP05 | optional, default 0 |
| payer_claim_control_number | CLP07 | required |
| member_id | NM1*QC09 (after MI) | optional |
| service_date, service_date_to | DTM*232/233, else the SVC lines' DTM*472/150/151 span | optional |
| adjustments | each CAS triple, `GROUP-CARC:AMOUNT`, `;`-separated; a line's: `L<n>/` | optional |
| remarks | LQ*HE and MOA/MIA remark codes, `;`-separated, `L<n>/` for a line's | optional |
| lines | JSON list of SVC lines (835 only) | leave empty |
| warnings | JSON list of problems that did not stop loading (835 only) | leave empty |

Example adjustments: `CO-45:12.00;PR-1:20.00;L2/CO-29:22.00`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

COLUMNS = (
    "payer_code",
    "trace_number",
    "trace_originator",
    "payment_amount",
    "payment_method",
    "payment_date",
    "patient_control_number",
    "status_code",
    "charge_amount",
    "paid_amount",
    "patient_responsibility",
    "payer_claim_control_number",
    "member_id",
    "service_date",
    "service_date_to",
    "adjustments",
    "remarks",
    "lines",
    "warnings",
)
REQUIRED = (
    "payer_code",
    "trace_number",
    "payment_amount",
    "patient_control_number",
    "status_code",
    "charge_amount",
    "paid_amount",
    "payer_claim_control_number",
)
DEFAULT_KEY = ("payer_code", "trace_number", "payer_claim_control_number")
STATUS_CODES = ("1", "2", "3", "4", "19", "20", "21", "22", "23", "25")
GROUP_CODES = ("CO", "CR", "OA", "PI", "PR")
EXAMPLE = {
    "payer_code": "NORTHWIND",
    "trace_number": "EFT0001234",
    "payment_amount": "120.00",
    "payment_date": "2026-11-20",
    "patient_control_number": "CLM000123",
    "status_code": "1",
    "charge_amount": "150.00",
    "paid_amount": "120.00",
    "patient_responsibility": "0",
    "payer_claim_control_number": "PCCN-998877",
    "member_id": "M000123",
    "service_date": "2026-11-02",
    "service_date_to": "2026-11-02",
    "trace_originator": "1999999999",
    "payment_method": "ACH",
    "adjustments": "CO-45:30.00",
    "remarks": "N206",
    "lines": "",
    "warnings": "",
}

_MONEY = re.compile(r"-?\d{1,12}(\.\d{1,2})?", re.ASCII)
_ADJ = re.compile(
    r"(?:L(\d{1,4})/)?([A-Z]{2})-([A-Z0-9]{1,5}):(-?\d{1,12}(?:\.\d{1,2})?)", re.ASCII
)
_REMARK = re.compile(r"(?:L(\d{1,4})/)?([A-Z0-9]{1,7})", re.ASCII)


@dataclass(frozen=True)
class Adjustment:
    """One CAS triple; `line` is the SVC line number (None at claim level)."""

    group: str
    carc: str
    amount: Decimal
    line: int | None = None

    def text(self) -> str:
        prefix = f"L{self.line}/" if self.line is not None else ""
        return f"{prefix}{self.group}-{self.carc}:{self.amount}"

    def as_dict(self) -> dict:
        return {
            "group": self.group,
            "carc": self.carc,
            "amount": str(self.amount),
            "line": self.line,
        }


@dataclass(frozen=True)
class Remark:
    """One remark code (RARC); `line` as for adjustments."""

    code: str
    line: int | None = None

    def text(self) -> str:
        return f"L{self.line}/{self.code}" if self.line is not None else self.code


@dataclass
class RemitRow:
    """One claim payment, read and typed."""

    payer_code: str
    trace_number: str
    payment_amount: Decimal
    patient_control_number: str
    status_code: str
    charge_amount: Decimal
    paid_amount: Decimal
    payer_claim_control_number: str
    trace_originator: str = ""
    payment_method: str = ""
    payment_date: date | None = None
    patient_responsibility: Decimal = Decimal("0")
    member_id: str = ""
    service_date: date | None = None
    service_date_to: date | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[Remark] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    def to_data(self) -> dict[str, str]:
        """The record's text values (what the 835 reader stores)."""
        return {
            "payer_code": self.payer_code,
            "trace_number": self.trace_number,
            "trace_originator": self.trace_originator,
            "payment_amount": str(self.payment_amount),
            "payment_method": self.payment_method,
            "payment_date": self.payment_date.isoformat() if self.payment_date else "",
            "patient_control_number": self.patient_control_number,
            "status_code": self.status_code,
            "charge_amount": str(self.charge_amount),
            "paid_amount": str(self.paid_amount),
            "patient_responsibility": str(self.patient_responsibility),
            "payer_claim_control_number": self.payer_claim_control_number,
            "member_id": self.member_id,
            "service_date": self.service_date.isoformat() if self.service_date else "",
            "service_date_to": self.service_date_to.isoformat() if self.service_date_to else "",
            "adjustments": ";".join(a.text() for a in self.adjustments),
            "remarks": ";".join(r.text() for r in self.remarks),
            "lines": json.dumps(self.lines, separators=(",", ":")) if self.lines else "",
            "warnings": json.dumps(self.warnings) if self.warnings else "",
        }


def _found(value: str) -> str:
    return f"found '{value[:40]}'" if value else "found nothing"


def read_row(data: dict) -> tuple[RemitRow | None, list[str]]:
    """The typed row, or None and every problem, each naming its field and what was expected."""
    problems: list[str] = []

    def text(name: str, max_length: int, required: bool = False) -> str:
        value = (data.get(name) or "").strip()
        if required and not value:
            problems.append(f"{name}: a value is required, found nothing")
        elif len(value) > max_length:
            problems.append(f"{name}: at most {max_length} characters, found {len(value)}")
        return value

    def money(name: str, required: bool = True) -> Decimal:
        value = (data.get(name) or "").strip()
        if not value and not required:
            return Decimal("0")
        if not _MONEY.fullmatch(value):
            problems.append(
                f"{name}: expected an amount with at most 2 decimals (like 34.25 or -20), "
                f"{_found(value)}"
            )
            return Decimal("0")
        return Decimal(value)

    def day(name: str) -> date | None:
        value = (data.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value) if len(value) == 10 else _bad_date()
        except ValueError:
            problems.append(f"{name}: expected a date as YYYY-MM-DD, {_found(value)}")
            return None

    def listed(name: str) -> list:
        value = (data.get(name) or "").strip()
        if not value:
            return []
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, list):
            problems.append(f"{name}: expected a JSON list (835 files only), {_found(value)}")
            return []
        return parsed

    row = RemitRow(
        payer_code=text("payer_code", 30, True),
        trace_number=text("trace_number", 50, True),
        payment_amount=money("payment_amount"),
        patient_control_number=text("patient_control_number", 38, True),
        status_code=text("status_code", 2, True),
        charge_amount=money("charge_amount"),
        paid_amount=money("paid_amount"),
        payer_claim_control_number=text("payer_claim_control_number", 50, True),
        trace_originator=text("trace_originator", 50),
        payment_method=text("payment_method", 3),
        payment_date=day("payment_date"),
        patient_responsibility=money("patient_responsibility", required=False),
        member_id=text("member_id", 80),
        service_date=day("service_date"),
        service_date_to=day("service_date_to"),
        lines=listed("lines"),
        warnings=[str(w) for w in listed("warnings")],
    )
    if row.status_code and row.status_code not in STATUS_CODES:
        problems.append(
            f"status_code: expected a CLP02 claim status ({', '.join(STATUS_CODES)}), "
            f"{_found(row.status_code)}"
        )
    row.adjustments = _adjustments((data.get("adjustments") or "").strip(), problems)
    row.remarks = _remarks((data.get("remarks") or "").strip(), problems)
    return (None, problems) if problems else (row, [])


def _bad_date():
    raise ValueError("not YYYY-MM-DD")


def _adjustments(value: str, problems: list[str]) -> list[Adjustment]:
    out = []
    for part in filter(None, (p.strip() for p in value.split(";"))):
        m = _ADJ.fullmatch(part.upper())
        if m is None or m.group(2) not in GROUP_CODES:
            problems.append(
                "adjustments: expected GROUP-CARC:AMOUNT items separated by ';' (group one of "
                f"{', '.join(GROUP_CODES)}; like CO-45:12.00 or L2/PR-1:20), {_found(part)}"
            )
            continue
        line = int(m.group(1)) if m.group(1) else None
        out.append(Adjustment(m.group(2), m.group(3), Decimal(m.group(4)), line))
    return out


def _remarks(value: str, problems: list[str]) -> list[Remark]:
    out = []
    for part in filter(None, (p.strip() for p in value.split(";"))):
        m = _REMARK.fullmatch(part.upper())
        if m is None:
            problems.append(
                f"remarks: expected remark codes separated by ';' (like N206 or L2/M15), "
                f"{_found(part)}"
            )
            continue
        out.append(Remark(m.group(2), int(m.group(1)) if m.group(1) else None))
    return out
