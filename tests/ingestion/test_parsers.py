"""Reading CSV files into rows, and idempotency keys (ingestion.parsers, ingestion.keys)."""

from __future__ import annotations

import pytest

from ingestion.keys import field_name, key_fields, normalise, record_key
from ingestion.parsers import FileRejected, parse_csv

REQUIRED = ("member_id", "service_date")


def rejected(raw: bytes, required=REQUIRED) -> str:
    with pytest.raises(FileRejected) as exc:
        parse_csv(raw, required=required)
    return exc.value.message


# --- parse_csv: what is read ------------------------------------------------------------------


def test_parse_csv_reads_rows_keyed_by_header():
    # given a plain UTF-8 file
    raw = b"member_id,service_date\nM1,2025-01-02\nM2,2025-01-03\n"

    # when it is read
    rows = parse_csv(raw, required=REQUIRED)

    # then each record is a dict of the header's columns, without shape problems
    assert [r.data for r in rows] == [
        {"member_id": "M1", "service_date": "2025-01-02"},
        {"member_id": "M2", "service_date": "2025-01-03"},
    ]
    assert [r.problem for r in rows] == ["", ""]


def test_parse_csv_tolerates_a_byte_order_mark():
    # given a file saved by a spreadsheet with a UTF-8 BOM
    raw = b"\xef\xbb\xbfmember_id,service_date\r\nM1,2025-01-02\r\n"

    # when it is read
    rows = parse_csv(raw, required=REQUIRED)

    # then the first column is still found by its name
    assert rows[0].data == {"member_id": "M1", "service_date": "2025-01-02"}


def test_parse_csv_header_is_case_and_space_insensitive():
    # given a header with capitals and padding, and padded values
    raw = b" Member_ID ,SERVICE_DATE  \n  M1 , 2025-01-02 \n"

    # when it is read
    rows = parse_csv(raw, required=REQUIRED)

    # then columns and values are trimmed, column names lower-cased
    assert rows[0].data == {"member_id": "M1", "service_date": "2025-01-02"}


def test_parse_csv_row_numbers_are_file_lines_and_blank_lines_are_skipped():
    # given a file with blank lines and a quoted value spanning two lines
    raw = (
        b"member_id,service_date,note\n"  # line 1
        b"M1,2025-01-01,a\n"  # line 2
        b"\n"  # line 3
        b",,\n"  # line 4: only empty fields
        b'M2,2025-01-02,"two\nlines"\n'  # lines 5-6
        b"M3,2025-01-03,c\n"  # line 7
    )

    # when it is read
    rows = parse_csv(raw, required=REQUIRED)

    # then the row numbers are the lines where each record starts (header = line 1)
    assert [(r.row_number, r.data["member_id"]) for r in rows] == [(2, "M1"), (5, "M2"), (7, "M3")]
    assert rows[1].data["note"] == "two\nlines"


def test_parse_csv_wrong_field_count_is_a_row_problem():
    # given rows with a field missing and a field too many
    raw = b"member_id,service_date\nM1\nM2,2025-01-02,extra\nM3,2025-01-03\n"

    # when it is read
    rows = parse_csv(raw, required=REQUIRED)

    # then the file is accepted, and those rows carry a problem saying what was expected
    assert [r.problem for r in rows] == [
        "expected 2 fields, found 1",
        "expected 2 fields, found 3",
        "",
    ]
    assert [r.row_number for r in rows] == [2, 3, 4]


def test_parse_csv_accepts_trailing_empty_header_columns():
    # given a spreadsheet export with two empty columns at the end of every line
    raw = b"member_id,service_date,,\nM1,2025-01-02,,\n"

    # when it is read
    rows = parse_csv(raw, required=REQUIRED)

    # then the unnamed columns are ignored, not taken for duplicated columns
    assert rows[0].data == {"member_id": "M1", "service_date": "2025-01-02"}
    assert rows[0].problem == ""


# --- parse_csv: files refused -----------------------------------------------------------------


def test_parse_csv_missing_columns_message_lists_them():
    # given a header lacking both required columns
    raw = b"Name,Code\nA,1\n"

    # when it is read, then the refusal names every missing column and what the header has
    message = rejected(raw)
    assert "missing required column(s): member_id, service_date" in message
    assert "name, code" in message


def test_parse_csv_duplicate_header_is_refused():
    # given a header naming a column twice (in different case)
    raw = b"member_id,service_date,Member_Id\nM1,2025-01-02,M1\n"

    # when it is read, then the refusal names the duplicated column
    assert rejected(raw) == "the header names these columns twice: member_id"


@pytest.mark.parametrize("raw", [b"", b"   \n\n", b"\r\n"])
def test_parse_csv_empty_file_is_refused(raw):
    # given an empty file, when it is read, then the refusal says so
    assert rejected(raw) == "the file is empty"


def test_parse_csv_header_only_is_refused():
    # given a header and no record
    raw = b"member_id,service_date\n\n"

    # when it is read, then the refusal says there are no records
    assert rejected(raw) == "the file has a header but no records"


def test_parse_csv_non_utf8_bytes_are_refused_naming_the_line():
    # given a Latin-1 file with an accented letter on line 3
    raw = "member_id,service_date\nM1,2025-01-02\nMü,2025-01-03\n".encode("latin-1")

    # when it is read
    message = rejected(raw)

    # then the refusal names the byte, the line and what to do
    assert "not UTF-8" in message
    assert "byte 0xFC on line 3" in message
    assert "save the file as UTF-8" in message


def test_parse_csv_nul_bytes_are_refused():
    # given a binary-looking file with NUL bytes
    raw = b"member_id,service_date\nM1\x00,2025-01-02\n"

    # when it is read, then it is refused as not being a CSV text file
    assert "NUL bytes" in rejected(raw)


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ServiceDate",
        "serviceDate",
        "service_date",
        " service date ",
        "SERVICE_DATE",
        "service-date",
    ],
)
def test_field_name_normalises_spellings(name):
    # given a spelling of a column name, when normalised, then it names service_date
    assert field_name(name) == "service_date"


def test_field_name_acronyms():
    assert field_name("MemberId") == "member_id"
    assert field_name("MemberID") == "member_id"


def test_record_key_ignores_case_and_white_space():
    # given two records differing only in case and spacing of their key values
    a = {"member_id": " ab  c", "service_date": "2025-01-02", "service_code": "x"}
    b = {"member_id": "AB C", "service_date": "2025-01-02 ", "service_code": "y"}

    # when keyed on member and date, then both get the same key
    fields = ["member_id", "service_date"]
    assert normalise(" ab  c") == "AB C"
    assert record_key(a, fields) == record_key(b, fields)
    # and a key field that differs gives another key
    assert record_key(a, ["service_code"]) != record_key(b, ["service_code"])


def test_record_key_depends_on_field_order_and_missing_is_empty():
    data = {"member_id": "M1", "service_date": "2025-01-02"}
    assert record_key(data, ["member_id", "service_date"]) != record_key(
        data, ["service_date", "member_id"]
    )
    assert record_key({"member_id": "M1"}, ["member_id", "x"]) == record_key(
        {"member_id": "M1", "x": ""}, ["member_id", "x"]
    )


def test_key_fields_normalises_requested_fields_and_defaults():
    allowed = ("member_id", "payer_code", "service_date", "service_code")

    # given fields spelt as in the API, then they are normalised
    assert key_fields(["ServiceDate", "MemberId"], allowed, allowed) == [
        "service_date",
        "member_id",
    ]
    # given none (or only blanks), then the default applies
    assert key_fields(None, allowed, ("member_id",)) == ["member_id"]
    assert key_fields(["", "  "], allowed, ("member_id",)) == ["member_id"]


def test_key_fields_refuses_unknown_columns():
    allowed = ("member_id", "service_date")

    # given an unknown column, when requested, then ValueError names it and the allowed ones
    with pytest.raises(ValueError) as exc:
        key_fields(["MemberId", "Shoe Size"], allowed, allowed)
    assert "unknown column(s) shoe_size" in str(exc.value)
    assert "member_id, service_date" in str(exc.value)
