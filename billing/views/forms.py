"""Helpers for billing's screen forms: errors beside their fields, confirmation texts."""

from __future__ import annotations

from datetime import date

from django.utils.formats import number_format

from core.exceptions import DomainError


def field_errors(exc: DomainError, fields: tuple[str, ...], default: str = "") -> dict[str, str]:
    """{field: message} from a refusal: 'month: ...' goes beside month, others to `default`."""
    head = exc.message.split(":", 1)[0].strip()
    if head in fields:
        return {head: exc.message.split(":", 1)[1].strip()}
    details = exc.details if isinstance(exc.details, dict) else {}
    for key in fields:
        if key in details or key.rstrip("s") in details:
            return {key: exc.message}
    return {default or "general": exc.message}


def members_text(n: int) -> str:
    """83180 -> '83,180 members' (1 -> '1 member')."""
    return f"{number_format(n, force_grouping=True)} member{'' if n == 1 else 's'}"


def trigger_confirm_text(
    counts: dict[str, int], payers: list[str], all_payers: bool, month: date | None, mode: str
) -> str:
    """'Bill 83,180 members of BLUEPEAK for 2026-11' for a production run; '' otherwise.

    static/billing/trigger.js computes the same text in the browser as the form changes.
    """
    if mode != "PRODUCTION" or month is None:
        return ""
    chosen = sorted(counts) if all_payers else [p for p in payers if p in counts]
    if not chosen:
        return ""
    total = sum(counts[p] for p in chosen)
    who = f"all active payers ({', '.join(chosen)})" if all_payers else ", ".join(chosen)
    return f"Bill {members_text(total)} of {who} for {month:%Y-%m}"
