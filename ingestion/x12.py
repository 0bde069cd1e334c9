"""X12 834 benefit enrollment files -> eligibility rows (the same columns as the CSV).

Segments are read with pyx12 (delimiters come from the ISA header); the mapping is ours:

| column | 834 source |
| --- | --- |
| member_id | REF*0F (subscriber number), else NM1*IL09 |
| last_name, first_name | NM1*IL03, NM1*IL04 |
| birth_date | DMG02 (D8) |
| payer_code | N1*IN04 (insurer id), unless the upload names a payer |
| source_kind | BGN08: 2 -> CHANGE_FILE, 4 or RX -> FULL_FILE (unless the upload names one) |
| file_date | BGN03 |
| status | INS03: 021/025/030/001 -> ACTIVE, 024 -> TERMINATED (CANCELLED: ends before start) |
| effective_date | DTP*348 of the HD loop, else DTP*356 |
| termination_date | DTP*349 of the HD loop, else DTP*357 |
| benefit_code | HD03 (insurance line code) |

One row per HD loop (per coverage); the row number is the position of the member's INS
segment in the file (ISA is segment 1).
"""

from __future__ import annotations

import io
from datetime import date

from ingestion.parsers import FileRejected, ParsedRow, decode_text

_STATUS = {"021": "ACTIVE", "025": "ACTIVE", "030": "ACTIVE", "001": "ACTIVE", "024": "TERMINATED"}
_SOURCE = {"2": "CHANGE_FILE", "4": "FULL_FILE", "RX": "FULL_FILE"}


def _d8(value: str) -> str:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8])).isoformat()
    except (ValueError, IndexError):
        return value


def _segments(text: str):
    import pyx12.x12file

    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(text))
        _check_terminator(text, reader.seg_term)
        for index, seg in enumerate(reader, start=1):
            elements = [seg.get_value(f"{i:02d}") or "" for i in range(1, len(seg) + 1)]
            yield index, seg.get_seg_id(), elements
        reader.cleanup()  # checks the trailers (IEA, GE, SE) and their counts
        problems = [str(err[2]) for err in reader.err_list]
    except FileRejected:
        raise
    except Exception as exc:  # pyx12 raises its own and stdlib errors for malformed input
        raise FileRejected(f"not a readable X12 file: {exc}") from None
    if problems:
        raise FileRejected(
            f"the X12 envelope is broken: {'; '.join(problems[:3])}"
            f"{f' (and {len(problems) - 3} more)' if len(problems) > 3 else ''}; the file may be "
            "truncated or edited: ask the sender for the complete file (ISA..IEA, GS..GE and "
            "ST..SE with their counts and control numbers)"
        )


def _check_terminator(text: str, terminator: str) -> None:
    """The segment terminator the ISA header declares must end the segments that follow."""
    rest = text[106:].strip()
    if rest and terminator not in rest:
        shown = repr(terminator)
        raise FileRejected(
            f"the ISA header declares {shown} as the segment terminator (its last character), "
            f"but no segment after it ends with {shown}; the file's segment terminators were "
            "changed or the ISA header is wrong"
        )


def parse_834(raw: bytes, *, payer_code: str = "", source_kind: str = "") -> list[ParsedRow]:
    """Eligibility rows from an 834 file."""
    text = decode_text(raw).strip()
    if not text.startswith("ISA"):
        raise FileRejected("not an X12 file: it must start with an ISA segment")
    rows: list[ParsedRow] = []
    header = {"file_date": "", "source_kind": source_kind, "payer_code": payer_code}
    member: dict | None = None
    coverage: dict | None = None
    seen_st = False

    def close_coverage():
        nonlocal coverage
        if member is not None and coverage is not None:
            rows.append(_row(member, coverage, header))
        coverage = None

    for index, seg_id, el in _segments(text):
        if seg_id == "ST":
            seen_st = True
            if el[0] != "834":
                raise FileRejected(f"segment {index}: transaction set {el[0]} is not an 834")
        elif seg_id == "BGN":
            header["file_date"] = _d8(el[2]) if len(el) > 2 else ""
            if not source_kind and len(el) > 7:
                header["source_kind"] = _SOURCE.get(el[7], "CHANGE_FILE")
        elif seg_id == "N1" and el[0] == "IN" and not payer_code:
            header["payer_code"] = el[3] if len(el) > 3 and el[3] else el[1]
        elif seg_id in ("INS", "SE"):
            close_coverage()
            if member is not None and not member["covered"]:
                rows.append(_row(member, {}, header))
            member = None
            if seg_id == "INS":
                member = {"row": index, "ins03": el[2] if len(el) > 2 else "", "covered": False}
        elif member is None:
            continue
        elif seg_id == "REF" and el[0] == "0F":
            member["member_id"] = el[1]
        elif seg_id == "NM1" and el[0] == "IL":
            member["last_name"] = el[2] if len(el) > 2 else ""
            member["first_name"] = el[3] if len(el) > 3 else ""
            member.setdefault("nm1_id", el[8] if len(el) > 8 else "")
        elif seg_id == "DMG" and len(el) > 1:
            member["birth_date"] = _d8(el[1])
        elif seg_id == "DTP" and len(el) > 2:
            target = coverage if coverage is not None else member
            target[f"dtp{el[0]}"] = _d8(el[2])
        elif seg_id == "HD":
            close_coverage()
            member["covered"] = True
            coverage = {"benefit_code": el[2] if len(el) > 2 else ""}
    if not seen_st:
        raise FileRejected("the X12 file holds no transaction set (no ST segment)")
    if not rows:
        raise FileRejected("the 834 file holds no member (INS) loops")
    return rows


def _row(member: dict, coverage: dict, header: dict) -> ParsedRow:
    effective = coverage.get("dtp348") or member.get("dtp356", "")
    termination = coverage.get("dtp349") or member.get("dtp357", "")
    status = _STATUS.get(member["ins03"], "")
    if status == "TERMINATED" and termination and effective and termination < effective:
        status = "CANCELLED"
    data = {
        "member_id": member.get("member_id") or member.get("nm1_id", ""),
        "first_name": member.get("first_name", ""),
        "last_name": member.get("last_name", ""),
        "birth_date": member.get("birth_date", ""),
        "payer_code": header["payer_code"],
        "source_kind": header["source_kind"] or "CHANGE_FILE",
        "file_date": header["file_date"],
        "status": status,
        "effective_date": effective,
        "termination_date": termination,
        "benefit_code": coverage.get("benefit_code", ""),
        "benefit_suffix": "",
    }
    problem = "" if status else f"INS03 maintenance type '{member['ins03']}' is not supported"
    return ParsedRow(member["row"], data, problem)
