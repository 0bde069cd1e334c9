"""Charge validation rules (pure: no Django, no database).

A charge is VALID when every rule passes; otherwise INVALID with every problem named. Messages
name the field and what was expected; the member id is PHI and is never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# CPT (5 digits; category II/III: 4 digits and F or T) or HCPCS level II (a letter, 4 digits).
PROCEDURE_CODE = re.compile(r"(\d{4}[0-9FT]|[A-Z]\d{4})", re.ASCII)
# Up to four two-character modifiers, separated by ':' or ','.
MODIFIERS = re.compile(r"[0-9A-Z]{2}([:,][0-9A-Z]{2}){0,3}", re.ASCII)


@dataclass(frozen=True)
class ChargeFacts:
    """What validation looks at in one charge, with the lookups already made."""

    payer_code: str
    payer_known: bool
    member_known: bool
    service_date: date
    code: str
    modifier: str
    units: Decimal
    amount: Decimal


def charge_errors(facts: ChargeFacts, *, today: date) -> list[str]:
    """Every problem of one charge (an empty list: the charge is valid)."""
    errors: list[str] = []
    if not facts.payer_known:
        errors.append(f"payer_code: no payer with code '{facts.payer_code[:30]}'")
    if not facts.member_known:
        errors.append("member_id: no member with this id (load eligibility first)")
    if facts.service_date > today:
        errors.append(
            f"service_date: must not be in the future, found {facts.service_date.isoformat()}"
        )
    if facts.amount <= 0:
        errors.append(f"amount: must be more than 0, found {facts.amount}")
    if facts.units <= 0:
        errors.append(f"units: must be more than 0, found {facts.units}")
    if not PROCEDURE_CODE.fullmatch(facts.code):
        errors.append(
            "code: expected a CPT code (5 digits, or 4 digits and F or T) or a HCPCS code "
            f"(a letter and 4 digits), found '{facts.code[:20]}'"
        )
    if facts.modifier and not MODIFIERS.fullmatch(facts.modifier):
        errors.append(
            "modifier: expected up to 4 two-character modifiers separated by ':', "
            f"found '{facts.modifier[:20]}'"
        )
    return errors


def claim_group_key(
    *, payer_id: int, member_id: int, claim_number: str, service_date: date
) -> tuple:
    """Which claim a charge goes on: its claim number when it has one, else its service date."""
    if claim_number:
        return (payer_id, member_id, "number", claim_number)
    return (payer_id, member_id, "date", service_date.isoformat())
