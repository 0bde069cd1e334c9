"""Validate an X12 text with pyx12 (it ships the 005010X222A1 map): (ok, 999 acknowledgement)."""

from __future__ import annotations

import io
import logging


def pyx12_validate(text: str) -> tuple[bool, str]:
    """Whether pyx12 accepts the interchange, and the 999 it wrote (IK3/IK4 name the errors)."""
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    ack = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(text), ack, None, None
    )
    return bool(ok), ack.getvalue()
