"""`bench load`'s figures: the requests split by the run's window, the think time checked
(pure functions, in the default suite; the bench itself runs in test_scaleout_load_bench_smoke)."""

from __future__ import annotations

import pytest


def test_bench_load_refuses_a_bad_think_time():
    from django.core.management.base import CommandError

    from billing.bench_load import _think

    assert _think("1-3") == (1.0, 3.0)
    for bad in ("3-1", "x", "1", "-1-2", "0-90"):
        with pytest.raises(CommandError, match="--think"):
            _think(bad)


def test_bench_load_splits_the_requests_by_the_run_s_window():
    from billing.bench_load import _windows

    # [group, start, ms, failed]: warm-up at 0-9 s, the run from 20 s to 30 s
    requests = [
        ["pages", 5.0, 900.0, False],  # warm-up: in neither window
        ["pages", 12.0, 40.0, False],
        ["api", 19.9, 20.0, False],
        ["pages", 20.0, 400.0, False],  # the run's first instant counts as during it
        ["pages", 25.0, 500.0, True],
        ["api", 30.0, 300.0, False],  # and its last
        ["api", 31.0, 30.0, False],
    ]

    figures = _windows(requests, measured_from=10.0, run_from=20.0, run_to=30.0)

    during, without = figures["while_run"], figures["without_run"]
    assert (during["pages"]["requests"], during["pages"]["errors"]) == (2, 1)
    assert (during["pages"]["p50_ms"], during["pages"]["meets_target"]) == (500.0, False)
    assert (during["api"]["requests"], during["api"]["p95_ms"]) == (1, 300.0)
    assert (without["pages"]["requests"], without["pages"]["p95_ms"]) == (1, 40.0)
    assert (without["api"]["requests"], without["api"]["meets_target"]) == (2, True)
