"""docs/remittance-format.md says what the code does: its CSV example reads as REMITTANCE
records, and its columns are the contract's."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from denials.remit_rows import COLUMNS, REQUIRED, read_row
from ingestion.parsers import parse_csv

DOC = Path(__file__).resolve().parents[2] / "docs" / "remittance-format.md"


def test_doc_csv_example_reads_without_problems():
    # given the CSV example of the doc
    text = DOC.read_text()
    example = re.search(r"```csv\n(.*?)```", text, re.S).group(1)
    # when read as ingestion reads a REMITTANCE CSV
    rows = parse_csv(example.encode(), required=REQUIRED)
    typed = [read_row(r.data) for r in rows]
    # then every row is a claim payment with no problem
    assert [problems for _, problems in typed] == [[], []]
    paid, denied = (remit for remit, _ in typed)
    assert (paid.paid_amount, paid.adjustments[0].text()) == (Decimal("120.00"), "CO-45:30.00")
    assert (denied.status_code, [r.text() for r in denied.remarks]) == ("4", ["L1/N206"])


def test_doc_names_every_column_of_the_contract():
    # given the doc's column table; then each column of remit_rows is described
    text = DOC.read_text()
    for column in COLUMNS:
        assert f"`{column}`" in text, column
