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
