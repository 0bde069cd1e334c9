"""Capture what the real console handler (formatter and filters from settings) writes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def console_output() -> Iterator[io.StringIO]:
    """Point the root logger's `console` handler at a buffer for the duration.

    The stream is swapped without flushing the old one: an earlier test may have reconfigured
    logging while pytest captured stderr, leaving the handler on a stream that is now closed.
    """
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    with handler.lock:
        old, handler.stream = handler.stream, buffer
    try:
        yield buffer
    finally:
        with handler.lock:
            handler.stream = old
