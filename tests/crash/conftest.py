"""Crash injection (issue 17): real `manage.py qcluster` processes against the test database,
SIGKILLed at seeded random points. PostgreSQL only (a second process needs the database file
locking SQLite cannot share with a transactional test); `-m crash`, its own CI step."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
# small bounds so a task a killed worker held is delivered again within seconds
Q_TIMEOUT, Q_RETRY = 8, 10
WAIT_SECONDS = 120  # a job must finish within this after the fresh cluster starts
# each chunk task is held this long first (paced_qcluster.py), so every job lasts seconds and a
# seeded kill (at most 0.6 s after the seeded chunk count) lands while chunks are unfinished
CHUNK_PAUSE = {
    "billing.tasks.run_chunk": 1.5,
    "ingestion.tasks.process_batch_chunk": 0.3,
    "wallets.tasks.prepaid_run_chunk": 1.0,
    "invoicing.tasks.invoice_request_process": 0.3,
    # inside the audit package build, after it turned BUILDING (test_audit_package.py)
    "billing.services.package.render_pdf": 3.0,
}


def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        reason = (
            "crash injection needs PostgreSQL: a real qcluster process shares the test database "
            "(run with DATABASE_URL=postgres://... -m crash; CI does)"
        )
        for item in items:
            if "crash" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Cluster:
    """`manage.py qcluster` (paced) in its own process group (the workers are its children)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log, self.proc = env, log, None

    def start(self) -> Cluster:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "tests" / "crash" / "paced_qcluster.py")],
            cwd=BASE_DIR,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the cluster and every worker: nothing gets to clean up."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        elif self.proc:  # the cluster itself ended: its workers may not have
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def clusters(tmp_path, monkeypatch, settings):
    """Start clusters on the test database; every one is ended after the test."""
    from django_q.conf import Conf

    settings.MEDIA_ROOT = tmp_path
    # the same chunk sizes here (a batch is cut where its file is stored) as in the clusters
    settings.BILLING_CHUNK_SIZE, settings.INGESTION_CHUNK_SIZE = 250, 50
    settings.PREPAID_CHUNK_ACCOUNTS, settings.PREPAID_ACCOUNTS_PER_TRANSACTION = 20, 5
    monkeypatch.setattr(Conf, "SYNC", False)  # this process queues into the ORM broker
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "Q_SYNC": "0",
        "Q_WORKERS": "2",
        "Q_TIMEOUT": str(Q_TIMEOUT),
        "Q_RETRY": str(Q_RETRY),
        "MEDIA_ROOT": str(tmp_path),
        "BILLING_CHUNK_SIZE": "250",
        "INGESTION_CHUNK_SIZE": "50",
        "PREPAID_CHUNK_ACCOUNTS": "20",
        "PREPAID_ACCOUNTS_PER_TRANSACTION": "5",
        "LOG_LEVEL": "WARNING",
        "CRASH_CHUNK_PAUSE": ",".join(f"{task}={s}" for task, s in CHUNK_PAUSE.items()),
    }
    started: list[Cluster] = []

    def start() -> Cluster:
        cluster = Cluster(env, tmp_path / "qcluster.log").start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def wait_until(check, *, seconds: float, what: str, log: Path | None = None):
    """Poll `check()` until it returns something truthy; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"{what} did not happen within {seconds} s\n{tail}")


def kill_and_restart(clusters, first, *, rng, seed, job, reached, finished, jitter, what, show):
    """The crash every job test shares: wait until `reached(job())` (or the job finished), wait a
    seeded moment up to `jitter` seconds, SIGKILL the `first` cluster, check the job was not
    finished yet, start a fresh cluster and wait until `finished(job())`.

    `job()` reads the job's row afresh; `show(row)` says where it stood (printed). Returns the
    row as it was at the kill and as it finished."""
    wait_until(
        lambda: reached(job()) or finished(job()),
        seconds=WAIT_SECONDS,
        what=what,
        log=first.log,
    )
    time.sleep(rng.uniform(0, jitter))
    first.kill()
    at_kill = job()
    print(f"seed {seed}: killed at {show(at_kill)}")
    assert not finished(at_kill), "the kill came after the job finished"

    started = time.monotonic()
    second = clusters()
    done = wait_until(
        lambda: (lambda row: finished(row) and row)(job()),
        seconds=WAIT_SECONDS,
        what="the job finishing after the crash",
        log=second.log,
    )
    print(f"seed {seed}: finished {time.monotonic() - started:.1f} s after the restart")
    return at_kill, done
