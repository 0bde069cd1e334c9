"""Build the bad-input corpus: for every upload kind ingestion knows, files that are broken in
one way each (plus one of formula cells, which is data, not an error).

    .venv/bin/python tests/data/bad/make_corpus.py     # rewrites tests/data/bad/<KIND>/

The files are committed; tests/ingestion/test_bad_corpus.py checks they match this script and
runs each through upload + batch. The 1 MB field file is built at test time (`big_field`).
Every person, code and file in here is made up.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMULAS = {
    "member_id": '=HYPERLINK("http://x","y")',
    "first_name": "+cmd|' /C calc'!A0",
    "last_name": "@SUM(A1)",
    "service_code": "-2+3",
    "description": "=1+2",
}
ACCENTED = "José Müller"


def _csv(header, rows, **kwargs) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", **kwargs)  # an input file, not an export
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _example(handler) -> list[str]:
    return [handler.example.get(c, "x") for c in handler.columns]


def _text_column(handler) -> int:
    """The column that takes free text in the broken files (a name when the kind has one)."""
    for name in ("first_name", "last_name", "member_id"):
        if name in handler.columns:
            return handler.columns.index(name)
    return 0


def isa(control: str = "000000101") -> str:
    """A fixed-width ISA header (106 characters, `~` terminates segments)."""
    return (
        "ISA*00*          *00*          *ZZ*HEALTHBILLTEST *ZZ*NORTHWIND      "
        f"*260101*1200*U*00401*{control}*0*T*:~"
    )


def x12_834(members: int = 2) -> str:
    """A valid 834 for payer NORTHWIND: `members` subscribers added with MED coverage."""
    body = [
        "ST*834*0001",
        "BGN*00*TEST0001*20261130*1200****4",
        "N1*P5*SPONSOR*FI*999999999",
        "N1*IN*NORTHWIND HEALTH*FI*NORTHWIND",
    ]
    for n in range(1, members + 1):
        body += [
            "INS*Y*18*021*28*A***FT",
            f"REF*0F*BAD{n:05d}",
            f"NM1*IL*1*EXAMPLE*JANE{n}",
            "DMG*D8*19800415*F",
            "HD*021**MED",
            "DTP*348*D8*20260101",
        ]
    body.append(f"SE*{len(body) + 1}*0001")
    segments = ["GS*BE*HEALTHBILLTEST*NORTHWIND*20261130*1200*101*X*004010X095A1", *body]
    segments += ["GE*1*101", "IEA*1*000000101"]
    return isa() + "\n" + "".join(f"{s}~\n" for s in segments)


def x12_files() -> dict[str, bytes]:
    """Broken X12 envelopes (the same for every kind: kinds without X12 refuse them all)."""
    good = x12_834()
    lines = good.splitlines(keepends=True)
    se = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    return {
        "x12-truncated-isa.x12": good[:60].encode(),
        "x12-truncated-body.x12": "".join(lines[: se - 2]).encode(),
        "x12-wrong-terminator.x12": (good[:106] + good[106:].replace("~\n", "\n")).encode(),
        "x12-missing-iea.x12": good.replace("IEA*1*000000101~\n", "").encode(),
        "x12-wrong-se-count.x12": good.replace(lines[se], "SE*5*0001~\n").encode(),
        "x12-wrong-ge-count.x12": good.replace("GE*1*101~", "GE*3*101~").encode(),
        "x12-wrong-iea-control.x12": good.replace("IEA*1*000000101", "IEA*1*000000999").encode(),
    }


def csv_files(handler) -> dict[str, bytes]:
    """Broken CSV files built from the kind's own columns and example row."""
    header, row = list(handler.columns), _example(handler)
    text_at = _text_column(handler)
    good = _csv(header, [row])
    accented = list(row)
    accented[text_at] = ACCENTED
    with_nul = list(row)
    with_nul[text_at] = row[text_at][:2] + "\x00" + row[text_at][2:]
    formula = [FORMULAS.get(c, v) for c, v in zip(header, row, strict=True)]
    quoted = _csv(header, [row], quoting=csv.QUOTE_ALL)
    return {
        "empty.csv": b"",
        "header-only.csv": _csv(header, []).encode(),
        "truncated-mid-row.csv": good[: len(good) - len(",".join(row)) // 2 - 1].encode(),
        "truncated-in-quotes.csv": quoted[: quoted.rindex(',"') + 2].encode(),
        "latin-1.csv": _csv(header, [accented]).encode("latin-1"),
        "utf-16.csv": _csv(header, [accented]).encode("utf-16"),
        "utf-16le-no-bom.csv": _csv(header, [accented]).encode("utf-16-le"),
        "semicolons.csv": _csv(header, [row], delimiter=";").encode(),
        "tabs.csv": _csv(header, [row], delimiter="\t").encode(),
        "duplicate-header.csv": _csv([*header, header[0]], [[*row, row[0]]]).encode(),
        "nul-bytes.csv": _csv(header, [with_nul]).encode(),
        "formula-cells.csv": _csv(header, [formula]).encode(),
    }


def big_field(handler, size: int = 1024 * 1024) -> bytes:
    """One record whose free-text field holds `size` characters (built at test time)."""
    row = _example(handler)
    row[_text_column(handler)] = "A" * size
    return _csv(list(handler.columns), [row]).encode()


def corpus(handler) -> dict[str, bytes]:
    """Every committed file of one kind, by file name."""
    return {**csv_files(handler), **x12_files()}


def main() -> None:
    root = HERE.parents[2]
    sys.path.insert(0, str(root))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from ingestion.registry import handlers

    for handler in handlers():
        folder = HERE / handler.kind
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, content in corpus(handler).items():
            (folder / name).write_bytes(content)
        print(f"{folder.relative_to(root)}: {len(corpus(handler))} files")


if __name__ == "__main__":
    main()
