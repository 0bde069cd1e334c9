"""`manage.py bench all [--quick] [--write-docs]`: every figure of SPEC 10 and the issues at once.

Runs each registered bench at the size its target names (or, with `--quick`, at a small size: a
smoke that checks the benches still run, never their times), prints one table row per figure
(bench, size, figure, ratio to its floor, target, met?) and, with `--write-docs`, rewrites only
the block between the bench-all markers of docs/benchmarks.md with the machine, the date and the
load average. The full sizes are meant for a scratch PostgreSQL database on a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from core.bench import BENCHES, Bench, register_bench

START_MARK = "<!-- bench-all:start -->"
END_MARK = "<!-- bench-all:end -->"
DOCS_FILE = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Figure:
    """One compared figure of a bench's JSON: where it is, its unit and its target."""

    label: str
    path: str  # dotted key in the bench's JSON, e.g. "api_decisions.p95_ms"
    unit: str = "s"
    target: float | None = None  # upper bound (the figure must be <= target)
    source: str = ""  # where the target comes from: "SPEC 10", "issue 16", ...


@dataclass(frozen=True)
class Item:
    """A bench run of the plan: command line at full and quick size, its figures and checks."""

    key: str
    work: str
    bench: str
    full: list[str]
    quick: list[str]
    figures: tuple[Figure, ...]
    ratio_path: str = ""  # the bench's own ratio to its floor, if it prints one
    check: Callable[[dict], str] | None = None  # "" when the result is right, else the problem
    pg_only: str = ""  # why it only runs on PostgreSQL (skipped on SQLite with this reason)
    uses_run: bool = False  # gets `--run ID` of the plan's first billing run, when there is one


@dataclass(frozen=True)
class Derived:
    """A figure computed from two items' results (e.g. 2 workers vs 1)."""

    work: str
    label: str
    compute: Callable[[dict], float | None]
    unit: str = "x"
    target: float | None = None
    source: str = ""


@dataclass
class Row:
    """One line of the printed table."""

    work: str
    command: str
    figure: str
    value: float | None = None
    unit: str = ""
    ratio: float | None = None
    target: float | None = None
    source: str = ""
    met: str = "-"
    note: str = ""

    def as_dict(self) -> dict:
        """The JSON shape of a row."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _get(figures: dict, path: str):
    value = figures
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _expect(**wanted) -> Callable[[dict], str]:
    """A check that named keys of the result have the given values."""

    def check(figures: dict) -> str:
        wrong = [
            f"{k}={_get(figures, k)!r} (expected {v!r})"
            for k, v in wanted.items()
            if _get(figures, k) != v
        ]
        return "; ".join(wrong)

    return check


def _same(a: str, b: str) -> Callable[[dict], str]:
    """Two figures agree; amounts to the cent (SQLite sums money as floats: '10.5', '10.4999')."""

    def check(figures: dict) -> str:
        x, y = _get(figures, a), _get(figures, b)
        if isinstance(x, str) and isinstance(y, str):
            with contextlib.suppress(InvalidOperation):
                x, y = (Decimal(v).quantize(CENT) for v in (x, y))
        return "" if x == y else f"{a} {_get(figures, a)} != {b} {_get(figures, b)}"

    return check


SECONDS_400MB = "peak RSS"
WORKERS_PG = (
    "a qcluster of worker processes sharing the database; SPEC 10 measures it on PostgreSQL "
    "(--quick runs the billing bench in-process instead)"
)

PLAN: tuple[Item, ...] = (
    Item(
        "billing-100k",
        "production billing run, 100,000 members, 2 workers",
        "billing",
        ["--members", "100000", "--workers", "2"],
        ["--members", "300", "--workers", "0"],
        (
            Figure("trigger to COMPLETED with roster", "seconds", "s", 20, "SPEC 10"),
            Figure("same, idle machine", "seconds", "s", 8, "issue 16"),
            Figure("ratio to floor", "ratio", "x", 2.0, "issue 16"),
            Figure("worker peak RSS", "worker_peak_rss_mb", "MB", 400, "SPEC 10"),
        ),
        ratio_path="ratio",
        check=_expect(status="COMPLETED"),
        pg_only=WORKERS_PG,
    ),
    Item(
        "audit-package",
        "audit package PDF of a 100,000-member run",
        "audit-package",
        ["--members", "100000"],
        ["--members", "200"],
        (Figure("build", "seconds", "s", 15, "SPEC 10"),),
        check=_expect(status="READY"),
        uses_run=True,
    ),
    Item(
        "billing-100k-1w",
        "the same run with 1 worker",
        "billing",
        ["--members", "100000", "--workers", "1"],
        ["--members", "300", "--workers", "0"],
        (Figure("trigger to COMPLETED with roster", "seconds", "s"),),
        ratio_path="ratio",
        check=_expect(status="COMPLETED"),
        pg_only=WORKERS_PG,
    ),
    Item(
        "billing-1m",
        "production billing run, 1,000,000 members, 2 workers",
        "billing",
        ["--members", "1000000", "--workers", "2"],
        ["--members", "600", "--workers", "0"],
        (
            Figure("trigger to COMPLETED with roster", "seconds", "s", 240, "SPEC 10"),
            Figure("same, idle machine", "seconds", "s", 90, "issue 16"),
        ),
        ratio_path="ratio",
        check=_expect(status="COMPLETED"),
        pg_only=WORKERS_PG,
    ),
    Item(
        "ingest",
        "ingestion batch of 100,000 CSV rows, then retry of 1,000 failed rows",
        "ingest",
        ["--rows", "100000"],
        ["--rows", "500"],
        (
            Figure("load", "seconds", "s", 20, "SPEC 10"),
            Figure("ratio to floor", "ratio", "x", 3.0, "issue 16"),
            Figure("retry of the failed rows", "retry_seconds", "s", 2, "SPEC 10"),
        ),
        ratio_path="ratio",
        check=_expect(**{"final.status": "COMPLETED", "final.error": 0}),
    ),
    Item(
        "prepaid",
        "prepaid run, 100,000 services",
        "prepaid",
        ["--services", "100000"],
        ["--services", "200"],
        (
            Figure("run", "run_seconds", "s", 30, "SPEC 10"),
            Figure(SECONDS_400MB, "peak_rss_mb", "MB", 400, "issue 15"),
        ),
        ratio_path="floor_ratio",
        check=_expect(status="COMPLETED", balance_equals_ledger=True),
    ),
    Item(
        "pages",
        "decision pages over 1,000,000 decisions (table of 4,000,000)",
        "pages",
        ["--fill", "1000000", "--other", "3000000"],
        ["--fill", "600", "--other", "900", "--repeat", "2"],
        (
            Figure(
                "API decisions page, filtered, p95", "api_decisions.p95_ms", "ms", 50, "SPEC 10"
            ),
            Figure("screen page 10,000, p95", "decisions_deep_page.p95_ms", "ms", 60, "issue 16"),
            Figure(
                "API deep cursor, p95", "api_decisions_deep_cursor.p95_ms", "ms", 20, "issue 16"
            ),
        ),
        ratio_path="ratio",
    ),
    Item(
        "audit",
        "audit chain verification, 1,000,000 entries",
        "audit",
        ["--entries", "1000000"],
        ["--entries", "300"],
        (Figure("verify", "verify_seconds", "s", 15, "SPEC 10"),),
        check=_expect(ok=True),
    ),
    Item(
        "invoicing",
        "invoice requests due: 10,000 accounts, 200,000 charges",
        "invoicing",
        ["--accounts", "10000", "--charges", "200000"],
        ["--accounts", "30", "--charges", "300"],
        (
            Figure("process", "process_seconds", "s", 30, "issue 12"),
            Figure(SECONDS_400MB, "peak_rss_mb", "MB", 400, "issue 12"),
        ),
        check=_same("charges_billed", "charges_expected"),
    ),
    Item(
        "remittance",
        "remittance (X12 835) of 100,000 claim payments",
        "remittance",
        ["--claims", "100000", "--format", "x12"],
        ["--claims", "200", "--format", "x12"],
        (
            Figure("load, match and post", "load_match_post_seconds", "s", 60, "issue 13"),
            Figure(SECONDS_400MB, "peak_rss_mb", "MB", 400, "issue 13"),
        ),
        check=_same("payments_posted", "payments_expected"),
    ),
    Item(
        "webhooks",
        "webhooks: 10,000 events to 1 endpoint",
        "webhooks",
        ["--events", "10000"],
        ["--events", "200"],
        (Figure("deliveries per second", "deliveries_per_second", "/s"),),
        ratio_path="floor_ratio",
        check=_expect(exactly_once_in_order=True),
    ),
)


def _ratio_of(a: str, b: str, path: str) -> Callable[[dict], float | None]:
    def compute(results: dict) -> float | None:
        x, y = _get(results.get(a) or {}, path), _get(results.get(b) or {}, path)
        return round(x / y, 2) if x and y else None

    return compute


DERIVED: tuple[Derived, ...] = (
    Derived(
        "2 workers vs 1, 100,000 members",
        "seconds(2 workers) / seconds(1 worker)",
        _ratio_of("billing-100k", "billing-100k-1w", "seconds"),
        target=0.65,
        source="issue 16",
    ),
    Derived(
        "worker memory, 1,000,000 vs 100,000 members",
        "worker peak RSS(1,000,000) / (100,000)",
        _ratio_of("billing-1m", "billing-100k", "worker_peak_rss_mb"),
        target=1.0,
        source="SPEC 10",
    ),
)

NOT_MEASURED = (
    (
        "roster CSV of 100,000 rows",
        "<= 3 s, constant memory (SPEC 10)",
        "no bench of its own: the roster is written inside `bench billing` (trigger to COMPLETED "
        "with the roster), so it is within that figure",
    ),
)


def _command(item: Item, argv: list[str]) -> str:
    return " ".join(["bench", item.bench, *argv])


def _parse(bench: Bench, argv: list[str]) -> dict:
    """The bench's options exactly as `manage.py bench NAME argv` would pass them."""
    parser = argparse.ArgumentParser(prog=f"bench {bench.name}", add_help=False)
    bench.add_arguments(parser)
    return vars(parser.parse_args(argv))


def _run_alone(name: str, argv: list[str]) -> dict:
    """`manage.py bench NAME argv` in a process of its own, on this database: each full-size
    bench reports its own peak memory (ru_maxrss only ever grows within one process: run in
    this one, every bench after the 1,000,000-member setup reported that setup's 731 MB)."""
    import json
    import subprocess

    from core.node import database_url

    done = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "bench", name, *argv],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {done.returncode}: {last}")
    return json.loads(lines[-1])


def _latest_bench_run_id() -> int | None:
    from billing.models import BillingRun

    run = (
        BillingRun.objects.filter(tenant__slug__startswith="bench-billing").order_by("-id").first()
    )
    return run.pk if run else None


def _met(value: float | None, target: float | None) -> str:
    if target is None:
        return "-"
    if value is None:
        return "?"
    return "yes" if value <= target else "no"


def _next_second() -> None:
    """Benches name their tenant after the current second: never start two in the same one."""
    time.sleep(1.0 - (time.time() % 1.0) + 0.01)


def run_plan(*, quick: bool, only: list[str] | None = None, log=None) -> tuple[list[Row], dict]:
    """Run the plan's items in order; return the table rows and each item's JSON figures."""
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    pg = connection.vendor == "postgresql"
    rows: list[Row] = []
    results: dict[str, dict] = {}
    run_id: int | None = None
    for item in PLAN:
        if only and item.key not in only and item.bench not in only:
            continue
        argv = list(item.quick if quick else item.full)
        if item.uses_run and run_id is not None:
            argv = ["--run", str(run_id)]
        command = _command(item, argv)
        bench = BENCHES.get(item.bench)
        skip = ""
        if bench is None:
            skip = f"skipped: bench {item.bench!r} is not registered in this build"
        elif item.pg_only and not pg:
            skip = f"skipped on {connection.vendor}: {item.pg_only}"
        if skip:
            log(f"bench all: {command}: {skip}")
            rows.append(Row(item.work, command, "-", note=skip))
            continue
        log(f"bench all: {command} ...")
        _next_second()
        try:
            figures = (
                _run_alone(item.bench, argv) if not quick else bench.run(**_parse(bench, argv))
            )
        except (Exception, SystemExit) as exc:  # one failing bench must not hide the others
            # the first line only: a database error's DETAIL quotes row values
            first_line = (str(exc).strip().splitlines() or [""])[0]
            problem = f"failed: {type(exc).__name__}: {first_line[:200]}"
            log(f"bench all: {command}: {problem}")
            rows.append(Row(item.work, command, "-", met="no", note=problem))
            continue
        results[item.key] = figures
        if item.bench == "billing" and run_id is None:
            run_id = _latest_bench_run_id()
        problem = item.check(figures) if item.check else ""
        ratio = _get(figures, item.ratio_path) if item.ratio_path else None
        for fig in item.figures:
            value = _get(figures, fig.path)
            met = _met(value, fig.target)
            if problem:
                met = "no"
            rows.append(
                Row(
                    item.work,
                    command,
                    fig.label,
                    value,
                    fig.unit,
                    ratio,
                    fig.target,
                    fig.source,
                    met,
                    f"check failed: {problem}" if problem else "",
                )
            )
    if not only:
        for derived in DERIVED:
            value = derived.compute(results)
            note = "" if value is not None else "not computed: a bench it compares did not run"
            rows.append(
                Row(
                    derived.work,
                    "(derived)",
                    derived.label,
                    value,
                    derived.unit,
                    None,
                    derived.target,
                    derived.source,
                    _met(value, derived.target),
                    note,
                )
            )
        for work, target, note in NOT_MEASURED:
            rows.append(Row(work, "-", "-", source=target, note=note))
    return rows, results


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def _target(row: Row) -> str:
    if row.target is None:
        return row.source or "-"
    return f"<= {_fmt(row.target, row.unit)} ({row.source})"


HEADER = ("work", "command", "figure", "value", "ratio to floor", "target", "met?", "note")


def table_lines(rows: list[Row]) -> list[str]:
    """The rows as a markdown table (printed as is and written into the docs block)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for r in rows:
        cells = (
            r.work,
            f"`{r.command}`" if r.command not in ("-", "(derived)") else r.command,
            r.figure,
            _fmt(r.value, r.unit),
            _fmt(r.ratio),
            _target(r),
            r.met,
            r.note,
        )
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return lines


def machine() -> dict:
    """CPU count and model, memory, Python and database version of this host."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    else:
        import sqlite3

        database = f"{connection.vendor} {sqlite3.sqlite_version}"
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor() or "unknown",
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "database": database,
    }


def docs_block(
    *,
    rows: list[Row],
    info: dict,
    quick: bool,
    started: datetime,
    load_before: list[float],
    load_after: list[float],
) -> str:
    """The text between the markers: how, where and when the table was taken, then the table."""
    size = "QUICK sizes (a smoke: these times mean nothing)" if quick else "full sizes"
    head = (
        f"Last `manage.py bench all{' --quick' if quick else ''}` ({size}), generated by "
        f"`--write-docs` (do not edit by hand): {started:%Y-%m-%d %H:%M} UTC; "
        f"{info['database']}; {info['cpus']} CPUs ({info['cpu_model']}), "
        f"{info['memory_gb']} GB, Python {info['python']}; load average (1, 5, 15 min) "
        f"{' '.join(map(str, load_before))} before, {' '.join(map(str, load_after))} after."
    )
    return "\n".join([head, "", *table_lines(rows)])


def write_docs_block(path: Path, block: str) -> None:
    """Replace only the text between the bench-all markers of `path`."""
    text = path.read_text(encoding="utf-8")
    if text.count(START_MARK) != 1 or text.count(END_MARK) != 1:
        raise CommandError(
            f"{path}: expected one {START_MARK} and one {END_MARK} line around the bench-all block."
        )
    pattern = re.compile(re.escape(START_MARK) + r".*?" + re.escape(END_MARK), re.DOTALL)
    new = pattern.sub(lambda _: f"{START_MARK}\n{block}\n{END_MARK}", text)
    path.write_text(new, encoding="utf-8")


def _args(parser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: checks the benches run, not their times"
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="rewrite the bench-all block of docs/benchmarks.md with the table",
    )
    parser.add_argument(
        "--docs-file", type=Path, default=None, help="write this copy instead of the real file"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated plan keys or bench names to run (no derived rows)",
    )


def _run(*, quick=False, write_docs=False, docs_file=None, only="", **_) -> dict:
    if write_docs and quick and docs_file is None:
        raise CommandError(
            "--quick figures are a smoke, not results: give --docs-file to write them elsewhere."
        )
    if not quick and connection.vendor != "postgresql":
        print(
            "bench all: full sizes are meant for PostgreSQL (SPEC 10); running on "
            f"{connection.vendor}, PostgreSQL-only benches are skipped.",
            file=sys.stderr,
        )
    wanted = [x.strip() for x in only.split(",") if x.strip()]
    unknown = sorted(set(wanted) - {i.key for i in PLAN} - {i.bench for i in PLAN})
    if unknown:
        raise CommandError(f"--only: unknown {', '.join(unknown)}; expected plan keys or benches.")
    started = datetime.now(UTC)
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows, results = run_plan(quick=quick, only=wanted)
    load_after = [round(x, 2) for x in os.getloadavg()]
    info = machine()
    print("\n".join(table_lines(rows)), flush=True)
    written = None
    if write_docs:
        written = Path(docs_file or DOCS_FILE)
        block = docs_block(
            rows=rows,
            info=info,
            quick=quick,
            started=started,
            load_before=load_before,
            load_after=load_after,
        )
        write_docs_block(written, block)
    failed = sorted({r.command for r in rows if r.note.startswith(("failed", "check failed"))})
    if failed:  # after the table and the docs: the figures that did run are kept
        raise CommandError(f"bench all: {len(failed)} bench(es) failed: {'; '.join(failed)}")
    return {
        "bench": "all",
        "database": connection.vendor,
        "quick": quick,
        "machine": info,
        "started": started.isoformat(timespec="seconds"),
        "load_avg_before": load_before,
        "load_avg": load_after,
        "rows": [r.as_dict() for r in rows],
        "docs_written": str(written) if written else None,
        "results": results,
    }


register_bench(
    Bench("all", "run every bench of SPEC 10 and the issues; print the table", _args, _run)
)
