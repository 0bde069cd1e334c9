"""Which worker did a piece of background work: the node name (HEALTHBILL_NODE, else the
host name) and the process id, recorded on run chunks so a scale-out shows who did what."""

from __future__ import annotations

import os
import socket

WORKER_MAX_LENGTH = 120


def worker_label() -> str:
    """`<node>/<pid>` of this process, cut to fit the chunk's `worker` column."""
    node = os.environ.get("HEALTHBILL_NODE", "").strip() or socket.gethostname()
    return f"{node}/{os.getpid()}"[:WORKER_MAX_LENGTH]


def database_url() -> str:
    """The URL of the database this process uses (a test run's test database included), for
    the worker and web processes a benchmark starts."""
    from urllib.parse import quote

    from django.db import connection

    d = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{d['NAME']}"
    auth = quote(d.get("USER") or "", safe="")
    if d.get("PASSWORD"):
        auth += ":" + quote(d["PASSWORD"], safe="")
    host = d.get("HOST") or "127.0.0.1"
    port = f":{d['PORT']}" if d.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(d['NAME'], safe='')}"
