"""What other apps run when a production billing run completes (billing imports none of them).

An app registers a callback in its AppConfig.ready() (as domain apps register record handlers
with ingestion). Callbacks run inside the transaction that marks the run COMPLETED (or
COMPLETED_WITH_EXCEPTIONS), after the completion and any supersession: what they write commits
with the completion or not at all. A completion that dies before its commit (a lost worker) is
retried whole by the resume, which runs the callbacks again; `billing_run_completed_replay`
runs them again for a run that is already complete. So every callback must be idempotent:
running it twice for a run writes what running it once wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.models import BillingRun

RunCompletedFn = Callable[["BillingRun"], None]

_CALLBACKS: dict[str, RunCompletedFn] = {}


def register_run_completed(callback: RunCompletedFn, *, name: str | None = None) -> None:
    """Run the callback for every production run that completes (idempotent per name)."""
    _CALLBACKS[name or f"{callback.__module__}.{callback.__qualname__}"] = callback


def unregister_run_completed(name: str) -> None:
    """Forget a callback (tests)."""
    _CALLBACKS.pop(name, None)


def run_completed_callbacks() -> list[RunCompletedFn]:
    """The registered callbacks, in registration order."""
    return list(_CALLBACKS.values())


def run_completed_notify(run: BillingRun) -> None:
    """Call every callback for a completed production run (inside the caller's transaction)."""
    for callback in run_completed_callbacks():
        callback(run)
