"""Reading files into rows: CSV (UTF-8, BOM tolerated, header required). No ORM here.

Row numbers are the line of the file where a record starts (the header is line 1), so an
operator can find a row in a text editor or a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass


class FileRejected(Exception):
    """The file as a whole cannot be read; the message says what is wrong and what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ParsedRow:
    """One record of a file; `problem` is set when its shape is already wrong."""

    row_number: int
    data: dict[str, str]
    problem: str = ""


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _utf16(raw: bytes) -> bool:
    """A BOM, or NUL bytes in every other position of the start (UTF-16 without a BOM)."""
    if raw.startswith(_UTF16_BOMS):
        return True
    head = raw[:200]
    return len(head) >= 4 and (
        head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4
    )


def decode_text(raw: bytes) -> str:
    """UTF-8 text (a BOM is dropped), or a clear refusal naming the line of the first bad byte.

    Text holding a NUL byte is refused too: no text field carries one, and the database
    cannot store it in a record.
    """
    if not raw or not raw.strip():
        raise FileRejected("the file is empty")
    if _utf16(raw):
        raise FileRejected(
            "the file is UTF-16 text, not UTF-8; save the file as UTF-8 (in a spreadsheet: "
            "CSV UTF-8) and upload it again"
        )
    nul = raw.find(b"\x00")
    if nul != -1:
        line = raw.count(b"\n", 0, nul) + 1
        raise FileRejected(
            f"the file contains NUL bytes (the first on line {line}): it is not a text file; "
            "export it again as plain UTF-8 text"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise FileRejected(
            f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02X} on line {line} cannot be "
            "decoded; save the file as UTF-8 and upload it again"
        ) from None


def parse_csv(raw: bytes, *, required: Sequence[str]) -> list[ParsedRow]:
    """Rows of a CSV file as dicts keyed by the (lower-cased, trimmed) header."""
    text = decode_text(raw)
    # strict: a quote left open swallows every following line into one field; refuse instead
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise FileRejected("the file has no header row") from None
    columns = [h.strip().lower() for h in header]
    if not any(columns):
        raise FileRejected("the first line must be a header row naming the columns")
    seen: set[str] = set()
    duplicated = sorted({c for c in columns if c and (c in seen or seen.add(c))})
    if duplicated:
        raise FileRejected(f"the header names these columns twice: {', '.join(duplicated)}")
    missing = [c for c in required if c not in columns]
    if missing and len(columns) == 1:
        _refuse_other_delimiter(header[0])
    if missing:
        raise FileRejected(
            f"missing required column(s): {', '.join(missing)} "
            f"(the header has: {', '.join(c for c in columns if c) or 'nothing'})"
        )
    rows: list[ParsedRow] = []
    start = reader.line_num + 1
    width, named, strip = len(columns), all(columns), str.strip
    try:
        for values in reader:
            row_number, start = start, reader.line_num + 1
            stripped = list(map(strip, values))
            if not any(stripped):
                continue
            if named:  # every column has a name (the usual case): no per-field test
                data = dict(zip(columns, stripped, strict=False))
            else:
                data = {c: v for c, v in zip(columns, stripped, strict=False) if c}
            problem = ""
            if len(values) != width:
                problem = f"expected {width} fields, found {len(values)}"
            rows.append(ParsedRow(row_number, data, problem))
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise FileRejected(
                f"line {start}: a field is longer than the {csv.field_size_limit():,} characters "
                "a CSV field may hold; check the file for an unclosed quote or a stray value"
            ) from None
        if "unexpected end of data" in str(exc):
            raise FileRejected(
                f"line {start}: a quoted field is never closed (the file ends inside quotes); "
                "the file may be truncated or hold a stray quote"
            ) from None
        if "expected after" in str(exc):
            raise FileRejected(
                f"line {start}: a closing quote is followed by more text in the same field; "
                'a quote inside a quoted field is written twice ("")'
            ) from None
        raise FileRejected(f"line {start}: the CSV cannot be read ({exc})") from None
    if not rows:
        raise FileRejected("the file has a header but no records")
    return rows


_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _refuse_other_delimiter(header: str) -> None:
    """A one-column header that holds another separator: the file is not comma-separated."""
    for sep, name in _OTHER_DELIMITERS.items():
        if sep in header:
            raise FileRejected(
                f"the header's columns are separated by {name}, not commas; save the file as "
                "comma-separated CSV and upload it again"
            )
