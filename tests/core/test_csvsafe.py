"""The product's one CSV writer: text a spreadsheet would evaluate is written as text, numbers
stay numbers, and no product module writes CSV any other way."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from core import csvsafe

DANGEROUS = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]


def _written(row: list) -> list[str]:
    buf = io.StringIO()
    csvsafe.writer(buf, lineterminator="\n").writerow(row)
    return next(csv.reader(io.StringIO(buf.getvalue(), newline="")))


@pytest.mark.parametrize("cell", DANGEROUS)
def test_writer_prefixes_a_quote_to_each_formula_lead(cell):
    # when a text cell starting with =, +, -, @, tab or CR is written
    # then the spreadsheet reads it as text: a single quote, then the value unchanged
    assert _written([cell]) == ["'" + cell]


def test_writer_keeps_numbers_numeric():
    # given amounts as Decimal, int and float, negative ones included, and an amount already
    # formatted as text
    row = [Decimal("-12.50"), Decimal("104.17"), -3, 0, 1.5, "-12.50", "42"]
    # then each is written exactly as the number it is
    assert _written(row) == ["-12.50", "104.17", "-3", "0", "1.5", "-12.50", "42"]


def test_writer_leaves_ordinary_text_and_empties_alone():
    row = ["Ana", "M000029", "2026-02", "# rows", "", None, True, "a=b", " =1"]
    assert _written(row) == ["Ana", "M000029", "2026-02", "# rows", "", "", "True", "a=b", " =1"]


def test_writer_neutralises_non_str_values_by_their_text():
    class Code:
        def __str__(self) -> str:
            return "=1+1"

    assert _written([Code()]) == ["'=1+1"]


def test_writerows_neutralises_every_row():
    buf = io.StringIO()
    csvsafe.writer(buf, lineterminator="\n").writerows([["=a", 1], ["@b", Decimal("-1.00")]])
    assert buf.getvalue() == "'=a,1\n'@b,-1.00\n"


def test_list_export_lines_go_through_the_safe_writer():
    from core.listexport import csv_lines

    lines = list(csv_lines(["name", "amount"], [["=EVIL()", Decimal("-5.00")]]))
    assert lines == ["name,amount\n", "'=EVIL(),-5.00\n"]


ROOT = Path(__file__).resolve().parents[2]
# Files that may use the csv module's writers: the safe writer itself, and the demo and bench
# generators, which write *input* files to upload (their cells must reach the parser verbatim).
ALLOWED = {"core/csvsafe.py", "billing/demo.py", "billing/bench.py", "billing/bench_ingest.py"}
SKIP_DIRS = {"tests", ".venv", "node_modules", "static", "docs", ".git"}


def _product_modules():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP_DIRS or rel.parts[0].startswith("."):
            continue
        yield rel.as_posix(), path


def _raw_csv_writers(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"writer", "DictWriter"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
        ):
            lines.append(node.lineno)
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "csv"
            and any(a.name in {"writer", "DictWriter", "*"} for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_no_product_module_writes_csv_around_the_safe_writer():
    # every CSV the product writes (now and in later apps) goes through core.csvsafe
    offenders = [
        f"{rel}:{line}"
        for rel, path in _product_modules()
        if rel not in ALLOWED
        for line in _raw_csv_writers(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"use core.csvsafe.writer instead of csv.writer: {offenders}"


def test_the_guard_finds_a_raw_writer():
    # the guard itself works: a module using csv.writer or importing it is reported
    assert _raw_csv_writers("import csv\nw = csv.writer(f)\n") == [2]
    assert _raw_csv_writers("from csv import DictWriter\n") == [1]
    assert _raw_csv_writers("from core import csvsafe\nw = csvsafe.writer(f)\n") == []


def test_a_carriage_return_inside_a_cell_cannot_split_the_row():
    # given a name with a bare carriage return followed by what looks like more cells
    buf = io.StringIO()
    w = csvsafe.writer(buf, lineterminator="\n")
    w.writerow(["M1", "Ana\r=1+1,forged", Decimal("3.00")])
    w.writerow(["M2", "Ben", Decimal("4.00")])
    # then a reader sees exactly the two rows written, the cell intact
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert rows == [["M1", "Ana\r=1+1,forged", "3.00"], ["M2", "Ben", "4.00"]]
