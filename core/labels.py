"""Human labels for codes (states, classes, audit actions); codes stay in the API and CSVs.

Apps add their own with `register_labels` in their AppConfig.ready(); anything unregistered
falls back to the code in sentence case.
"""

from __future__ import annotations

_LABELS: dict[str, str] = {
    "COMPLETED_WITH_EXCEPTIONS": "Completed with exceptions",
    "COMPLETED_WITH_ERRORS": "Completed with exceptions",
    # who read what (core.phi_reads)
    "phi.view": "PHI viewed",
    "phi.export": "PHI exported",
    "phi.search": "Members searched (PHI)",
}


def register_labels(labels: dict[str, str]) -> None:
    """Add or replace labels for codes."""
    _LABELS.update(labels)


def label_for(code) -> str:
    """The human label of a code: registered, else 'SOME_CODE' -> 'Some code'."""
    if code is None:
        return ""
    text = str(code)
    if text in _LABELS:
        return _LABELS[text]
    words = text.replace("_", " ").replace(".", " ").strip().lower()
    return words[:1].upper() + words[1:]
