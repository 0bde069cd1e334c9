"""Operator-facing output: `bench --help` and quiet PDF rendering."""

from __future__ import annotations

import logging

import pytest
from django.core.management import execute_from_command_line


def test_bench_help_lists_every_benchmark(capsys):
    # given benchmarks whose help texts contain a literal % ("retry 1%")
    # when an operator asks for help / then argparse prints it instead of crashing
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "retry 1%" in out
    assert "audit" in out


def test_bench_help_of_one_benchmark(capsys):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "bench", "audit", "--help"])
    assert exit_info.value.code == 0
    assert "--entries" in capsys.readouterr().out


def test_building_a_pdf_logs_no_font_warnings(caplog, monkeypatch):
    # given a machine without HarfBuzz-Subset (WeasyPrint then warns once per font)
    from weasyprint import HTML
    from weasyprint.pdf import fonts

    monkeypatch.setattr(fonts, "harfbuzz_subset", None)
    html = (
        '<html><head><style>body { font-family: "DejaVu Sans", sans-serif }'
        ' code { font-family: "DejaVu Sans Mono", monospace }</style></head>'
        "<body><h1>Run 1</h1><p>Total $1,234.50 · <code>ab12cd</code></p></body></html>"
    )
    # when a PDF is built with the project's logging configuration
    with caplog.at_level(logging.NOTSET):
        pdf = HTML(string=html).write_pdf()
    # then it is a PDF, and nothing reached the log at WARNING or above
    assert pdf.startswith(b"%PDF")
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]
