"""`bench scaleout` and `bench load` run at tiny sizes and report their figures (issue 17).

Marked `bench` (they start worker clusters, a web server and locust: not for the default
suite): `pytest -m bench tests/bench/test_scaleout_load_bench_smoke.py`. They check the benches
themselves and what must hold whatever the speed (same outcome, every chunk done by a named
node, no errors), never a time.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Runs write rosters and packages as files."""
    settings.MEDIA_ROOT = tmp_path


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({type(exc).__name__})")


def _bench(name: str, *args: str) -> dict:
    out = StringIO()
    call_command("bench", name, *args, stdout=out)
    return json.loads(out.getvalue())


def test_bench_scaleout_spreads_chunks_over_two_nodes_with_the_same_outcome():
    if connection.vendor != "postgresql":
        pytest.skip("bench scaleout needs PostgreSQL: its clusters share the database")
    _redis_or_skip()

    figures = _bench("scaleout", "--members", "400", "--services", "400", "--timeout", "300")

    assert figures["ok"] is True
    assert figures["billing_same_as_single"] and figures["prepaid_same_as_single"]
    two = figures["billing"]["two_clusters"]
    assert set(two["chunks_per_node"]) <= {"node-a", "node-b"}
    assert sum(two["chunks_per_node"].values()) == two["chunks"]
    assert two["outcome"]["members_with_one_decision"] == 400
    assert figures["billing"]["single"]["chunks_per_node"] == {
        "solo": figures["billing"]["single"]["chunks"]
    }
    assert len(figures["load_avg"]) == 3


def test_bench_scaleout_kill_one_cluster_the_other_finishes():
    if connection.vendor != "postgresql":
        pytest.skip("bench scaleout needs PostgreSQL: its clusters share the database")
    _redis_or_skip()

    figures = _bench(
        "scaleout", "--members", "400", "--services", "400", "--kill", "--stall-seconds", "5"
    )

    assert figures["ok"] is True
    two = figures["billing"]["two_clusters"]
    assert two["killed"]["node"] == "node-b"
    assert two["outcome"]["status"] == "COMPLETED"
    assert two["outcome"]["members_with_more"] == 0
    assert figures["prepaid"]["two_clusters"]["outcome"]["balance_equals_ledger"] is True


@pytest.mark.parametrize("server", ["gunicorn", "runserver"])
def test_bench_load_reports_percentiles_per_group(server):
    figures = _bench(
        "load",
        "--members",
        "300",
        "--users",
        "3",
        "--duration",
        "8",
        "--warmup",
        "2",
        "--think",
        "0.2-0.5",
        "--server",
        server,
    )

    assert figures["server"].startswith(server)
    assert figures["worker"] == "qcluster, 2 workers, nice 10"
    assert figures["think_seconds"] == [0.2, 0.5]
    assert figures["locust_exit"] in (0, 1)  # 1: some requests failed (reported below)
    # a 300-member run is over in a moment: the requests after it carry the figures here
    assert set(figures["groups"]) == set(figures["groups_without_run"]) == {"pages", "api"}
    for group in figures["groups_without_run"].values():
        assert group["requests"] > 0
        assert group["errors"] == 0
        assert group["p50_ms"] <= group["p95_ms"] <= group["p99_ms"]
    assert figures["run_during_load"]["status"] == "COMPLETED"  # not left running
    assert figures["run_during_load"]["seconds_executing_under_load"] >= 0
