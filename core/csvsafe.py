"""The one CSV writer of the product: text cells cannot open as spreadsheet formulas.

Names, codes and notes come from partner files and users; a cell such as
`=HYPERLINK("http://x","y")` or `+cmd|' /C calc'!A0` written verbatim runs as a formula when
the file is opened in a spreadsheet. OWASP's rule: a text cell starting with `=`, `+`, `-`,
`@`, a tab or a carriage return gets a leading single quote, so the spreadsheet shows it as text.

Numbers stay numeric: int, float and Decimal values are written as they are (`-12.50` stays
`-12.50`), and so is text that is exactly a plain decimal number (an amount already formatted
as text, such as a JSON summary's `"-12.50"`): a spreadsheet reads it as a number, never as a
formula. Every CSV the product writes goes through `writer()` (a test fails on any other
`csv.writer` in product code); stored data is never changed, only what is written out.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value as it may be written to a CSV cell (text that a spreadsheet would evaluate
    gets a leading `'`; numbers, booleans and None are returned unchanged)."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_LEADS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of a row through `safe_cell`."""
    return [safe_cell(v) for v in row]


def _breaks_line(cell: Any) -> bool:
    return isinstance(cell, str) and ("\r" in cell or "\n" in cell)


class SafeWriter:
    """`csv.writer` whose rows pass through `safe_row` (same `writerow`/`writerows` results).

    A row with a line break inside a cell is written with every cell quoted: with the house
    `lineterminator="\n"` the csv module leaves a lone carriage return unquoted, and readers
    would split the row there (a cell could forge extra rows).
    """

    def __init__(self, fileobj: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(fileobj, **kwargs)
        self._quoted = csv.writer(fileobj, **{**kwargs, "quoting": csv.QUOTE_ALL})

    @property
    def dialect(self):
        return self._writer.dialect

    def writerow(self, row: Iterable[Any]) -> Any:
        cells = safe_row(row)
        if any(_breaks_line(c) for c in cells):
            return self._quoted.writerow(cells)
        return self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fileobj: Any, **kwargs: Any) -> SafeWriter:
    """A formula-safe CSV writer over `fileobj` (the arguments of `csv.writer`)."""
    return SafeWriter(fileobj, **kwargs)
