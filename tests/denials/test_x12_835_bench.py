"""How fast the 835 reader is (never in the default suite: `pytest -m bench`)."""

from __future__ import annotations

import time

import pytest

from denials.x12_835 import read_835_for_ingestion
from tests.denials import x835_files as f

pytestmark = pytest.mark.bench


def big_835(claims: int) -> bytes:
    """One payment of `claims` claims, one line each (PR-1 20.00)."""
    built = [f.claim(f"C{i:07d}", pccn=f"P{i:08d}", member=f"M{i:07d}") for i in range(claims)]
    return f.interchange([f.transaction(built, amount=f"{80 * claims}.00")]).encode()


def test_bench_reader_100k_claims():
    # given an 835 of 100,000 claims (about 14 MB; 8 s on an idle 2-core machine)
    content = big_835(100_000)
    # when read
    started = time.perf_counter()
    rows = read_835_for_ingestion(content, {"payer_code": "ACME"})
    seconds = time.perf_counter() - started
    print(f"835 reader: {len(rows)} claims, {len(content) / 1e6:.1f} MB, {seconds:.1f} s")
    # then every claim, well inside the posting budget (60 s for read + match + post)
    assert len(rows) == 100_000
    assert rows[-1].data["warnings"] == ""
    assert seconds < 30
