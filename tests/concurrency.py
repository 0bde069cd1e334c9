"""Run one piece of work in several threads at the same moment (the race tests, PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def race(count: int, work: Callable[[int], object], *, join_timeout: float = 60) -> list:
    """Run `work(i)` in `count` threads released together; each thread's result or error.

    Each thread closes its own database connection when done. Fails if a thread is still
    running after `join_timeout` seconds."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the error is the result under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=join_timeout)
    assert not any(t.is_alive() for t in threads)
    return results
