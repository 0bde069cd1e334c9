"""Helpers shared by the wallet screens: the wallet state badge, run reads, a 404 page, and the
rated items' breakdown as people read it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.http import HttpResponse
from django.shortcuts import render

from core.templatetags.present import money
from wallets.models import PrepaidBillingRun, RatedItem

RUN_BADGES = {
    PrepaidBillingRun.Status.DRAFT: "blue",
    PrepaidBillingRun.Status.IDENTIFICATION_AND_RATING: "blue",
    PrepaidBillingRun.Status.COMPLETED: "green",
    PrepaidBillingRun.Status.COMPLETED_WITH_ERRORS: "amber",
    PrepaidBillingRun.Status.FAILED: "red",
}
STATE_BADGES = {"healthy": "green", "low": "amber", "empty": "red"}


def decorate_run(run: PrepaidBillingRun, now) -> PrepaidBillingRun:
    """Badge colour, and whether screens poll it: a recurring successor waiting for its day
    is not polled (it would be, every second, for weeks)."""
    run.badge = RUN_BADGES.get(run.status, "grey")
    run.waits_for_its_day = (
        run.status == PrepaidBillingRun.Status.DRAFT
        and run.scheduled_for is not None
        and run.scheduled_for > now
    )
    run.live = run.is_active and not run.waits_for_its_day
    return run


def not_found(request, what: str) -> HttpResponse:
    """The friendly 404 page naming what was not found."""
    return render(request, "core/not_found.html", {"what": what}, status=404)


# --- rated item breakdown -----------------------------------------------------------------------

_SPLIT = re.compile(r"^(starts|ends) (\d{4}-\d{2}-\d{2}): (.+)$")
_CHANGE_WORDS = {
    "price plan rate changes": "the price plan rate changes",
    "VAT rate changes": "the VAT rate changes",
}


@dataclass(frozen=True)
class DiscountLine:
    """One discount an item received: its name, code, what it is worth, what it took."""

    name: str
    code: str
    terms: str  # "10 %" or "$5.00 fixed"
    amount: Decimal | None


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def percent_words(value) -> str:
    """20.0000 -> '20 %', 20.5 -> '20.5 %' (no trailing zeros)."""
    d = _decimal(value)
    if d is None:
        return ""
    return f"{format(d.normalize(), 'f')} %"


def reason_words(reason: str) -> str:
    """Why an item starts or ends where it does, as a sentence: 'starts 2026-12-15: price plan
    rate changes, VAT rate changes' -> 'Starts 2026-12-15 because the price plan rate changes
    and the VAT rate changes'. Anything else is shown as written, capitalised."""
    text = str(reason).strip()
    m = _SPLIT.match(text)
    if not m:
        return text[:1].upper() + text[1:]
    edge, day, what = m.groups()
    words = [_CHANGE_WORDS.get(w.strip(), w.strip()) for w in what.split(", ")]
    said = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return f"{edge.capitalize()} {day} because {said}"


def _reasons(item: RatedItem) -> list[str]:
    """The item's reasons as sentences, one per day it was cut at (same day said once)."""
    by_day: dict[tuple[str, str], list[str]] = {}
    out: list[str] = []
    for raw in item.reasons or []:
        m = _SPLIT.match(str(raw).strip())
        if m is None:
            out.append(reason_words(raw))
            continue
        edge, day, what = m.groups()
        by_day.setdefault((edge, day), []).append(what)
    for (edge, day), whats in by_day.items():
        out.append(reason_words(f"{edge} {day}: {', '.join(whats)}"))
    return out


def _discount_lines(item: RatedItem) -> list[DiscountLine]:
    lines = []
    for d in item.discounts or []:
        d = d if isinstance(d, dict) else {}
        value = _decimal(d.get("value"))
        if d.get("kind") == "FIXED":
            terms = f"{money(value)} fixed" if value is not None else "fixed"
        else:
            terms = percent_words(value) if value is not None else ""
        code = str(d.get("code") or "")
        lines.append(
            DiscountLine(
                name=str(d.get("name") or code),
                code=code,
                terms=terms,
                amount=_decimal(d.get("amount")),
            )
        )
    return lines


def decorate_items(items) -> list[RatedItem]:
    """Rated items with what their breakdown cell shows: kind in words, discount lines, VAT
    rate as a percent, the reasons as sentences, the state badge (no query: fields only)."""
    rows = list(items)
    for i in rows:
        i.kind_words = i.get_kind_display()
        i.discount_lines = _discount_lines(i)
        i.vat_words = percent_words(i.vat_rate)
        i.reason_lines = _reasons(i)
        i.billed = i.state == RatedItem.State.BILLED
        i.state_badge = "green" if i.billed else "amber"
    return rows
