"""`manage.py bench all --quick` runs every bench of the plan at a small size (issue 17).

The full quick run is marked `bench` (`pytest -m bench tests/bench/test_bench_all_smoke.py`).

Checks the table's rows and that `--write-docs` rewrites only the marked block of a copy of
docs/benchmarks.md (never the real file); never a time. The full-size figures are
`bench all --write-docs` on PostgreSQL (docs/benchmarks.md, Results).
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.bench_all import DERIVED, DOCS_FILE, END_MARK, PLAN, START_MARK

pytestmark = pytest.mark.django_db(transaction=True)

ROW_KEYS = {"work", "command", "figure", "value", "unit", "ratio", "target", "source", "met"}
ROW_KEYS |= {"note"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Runs write their roster, package and PDFs as files."""
    settings.MEDIA_ROOT = tmp_path / "media"


# `pytest -m bench`: 80 s (SQLite) to 160 s (PostgreSQL) at load 12-18 on 2 cores, over the ~60 s a
# default-suite smoke may take; the refusals below stay in the default suite
@pytest.mark.bench
def test_bench_all_quick_runs_every_bench_and_rewrites_only_the_docs_block(tmp_path, capsys):
    # given a copy of docs/benchmarks.md with text around the bench-all block
    docs = tmp_path / "benchmarks.md"
    original = DOCS_FILE.read_text(encoding="utf-8")
    docs.write_text(original, encoding="utf-8")
    before, after = original.split(START_MARK)[0], original.split(END_MARK)[1]
    real_docs = DOCS_FILE.read_bytes()

    # when `bench all --quick --write-docs` runs against the copy
    out = StringIO()
    call_command("bench", "all", "--quick", "--write-docs", "--docs-file", str(docs), stdout=out)
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    printed = capsys.readouterr().out

    # then every bench of the plan ran (or, on SQLite, the PostgreSQL-only ones say why not)
    assert figures["bench"] == "all" and figures["quick"] is True
    assert figures["database"] == connection.vendor
    rows = figures["rows"]
    assert all(set(r) == ROW_KEYS for r in rows)
    pg = connection.vendor == "postgresql"
    for item in PLAN:
        mine = [r for r in rows if r["work"] == item.work]
        if item.pg_only and not pg:
            assert len(mine) == 1 and mine[0]["note"].startswith("skipped on sqlite: ")
            assert item.key not in figures["results"]
            continue
        # one row per figure, each with its value and no failed check
        assert [r["figure"] for r in mine] == [f.label for f in item.figures], item.key
        assert all(r["value"] is not None and r["note"] == "" for r in mine), mine
        assert figures["results"][item.key]["bench"] == item.bench
    # the package was built from the plan's own first billing run (300 members) when there was
    # one, else from a run of its own (200 members)
    package = figures["results"]["audit-package"]
    assert (package["status"], package["decisions"]) == ("READY", 300 if pg else 200)
    # targets are shown with their source; met? is yes/no only where there is a target
    ingest = [r for r in rows if r["command"] == "bench ingest --rows 500"]
    assert [(r["target"], r["source"]) for r in ingest] == [
        (20, "SPEC 10"),
        (3.0, "issue 16"),
        (2, "SPEC 10"),
    ]
    assert all(r["met"] in ("yes", "no") for r in ingest)
    webhooks = [r for r in rows if r["command"].startswith("bench webhooks")]
    assert [(r["target"], r["met"]) for r in webhooks] == [(None, "-")]
    # derived rows (computed only when both benches ran) and the figure without a bench
    derived = [r for r in rows if r["command"] == "(derived)"]
    assert [r["work"] for r in derived] == [d.work for d in DERIVED]
    assert all((r["value"] is not None) == pg for r in derived)
    assert any(r["work"].startswith("roster CSV") and r["note"] for r in rows)

    # and the table was printed, one line per row under its header and rule
    table = [line for line in printed.splitlines() if line.startswith("| ")]
    assert len(table) == len(rows) + 2 and table[1].startswith("| --- |")
    assert table[0].startswith("| work | command | figure | value | ratio to floor | target |")

    # and the copy's block holds the machine, date, load average and the same table; the text
    # around the block is unchanged, and the real docs file was not touched
    text = docs.read_text(encoding="utf-8")
    assert text.startswith(before) and text.endswith(after)
    block = text.split(START_MARK)[1].split(END_MARK)[0]
    assert "QUICK sizes" in block and "load average" in block and "CPUs" in block
    assert ("PostgreSQL" if pg else "sqlite") in block
    assert block.count("\n| ") == len(rows) + 2
    assert DOCS_FILE.read_bytes() == real_docs


def test_bench_all_refuses_to_write_quick_figures_into_the_real_docs():
    with pytest.raises(CommandError) as exc:
        call_command("bench", "all", "--quick", "--write-docs", stdout=StringIO())
    assert "--docs-file" in str(exc.value)


def test_bench_all_refuses_a_docs_file_without_its_markers(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nno block here\n", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command(
            "bench", "all", "--quick", "--only", "audit", "--write-docs", "--docs-file", str(docs),
            stdout=StringIO(),
        )  # fmt: skip
    assert START_MARK in str(exc.value)
    assert docs.read_text(encoding="utf-8") == "# Benchmarks\n\nno block here\n"


def test_bench_all_only_names_unknown_benches():
    with pytest.raises(CommandError) as exc:
        call_command("bench", "all", "--quick", "--only", "audit,nope", stdout=StringIO())
    assert "nope" in str(exc.value)


@pytest.mark.postgres
def test_a_full_size_bench_runs_alone_and_reports_its_own_figures_and_failure():
    # a full-size item runs as `manage.py bench NAME` in its own process, on this database
    # (PostgreSQL: the test database is a real one the child can open)
    from core.bench_all import _run_alone

    figures = _run_alone("audit", ["--entries", "50"])
    assert (figures["bench"], figures["entries"], figures["ok"]) == ("audit", 50, True)
    # and a bench that cannot start is a failure naming the exit, not a silent empty row
    with pytest.raises(RuntimeError, match="exit 2"):
        _run_alone("audit", ["--no-such-option"])
