"""The wallet screens' forms: what was typed, parsed to the services' types, errors by field.

Only parsing lives here (a number, a date, a list of codes); every rule (limits, thresholds,
unknown accounts) is the services' and comes back as a DomainError naming its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from core.exceptions import DomainError
from core.months import MonthError, parse_date
from wallets.models import PrepaidBillingRun

_SPLIT = re.compile(r"[\s,;]+")
_AMOUNT = re.compile(r"-?\d+(\.\d+)?")


def parse_amount(text: str | None) -> Decimal:
    """'1,250.50' or '$50' -> Decimal; DomainError('amount: expected ...') when not a number."""
    raw = (text or "").strip().replace(",", "").removeprefix("$").strip()
    if not _AMOUNT.fullmatch(raw):
        raise DomainError("amount: expected an amount in dollars and cents, e.g. 50.00")
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise DomainError("amount: expected an amount in dollars and cents, e.g. 50.00") from None


def split_codes(text: str | None) -> list[str]:
    """'PP-1, PP-2\\nPP-3' -> ['PP-1', 'PP-2', 'PP-3'] (blanks dropped, order kept, no repeats)."""
    seen: list[str] = []
    for part in _SPLIT.split(text or ""):
        if part and part not in seen:
            seen.append(part)
    return seen


def field_errors(exc: DomainError, fields: tuple[str, ...], default: str = "general") -> dict:
    """{field: message}: 'as_of: expected ...' goes beside as_of, anything else to `default`."""
    head, _, rest = exc.message.partition(":")
    head = head.strip().split("[", 1)[0]
    if rest and head in fields:
        return {head: rest.strip()}
    return {default: exc.message}


@dataclass
class TriggerForm:
    """The prepaid run trigger form as typed, and its values for prepaid_run_trigger."""

    as_of: str = ""
    accounts: str = ""
    subscriptions: str = ""
    classifications: list[str] = field(default_factory=list)
    estimation: str = PrepaidBillingRun.Estimation.SKIP
    recurring: str = ""

    FIELDS = (
        "as_of",
        "accounts",
        "subscriptions",
        "classifications",
        "estimation",
        "recurring_interval_days",
    )

    @classmethod
    def from_post(cls, data) -> TriggerForm:
        """The form's fields from request.POST."""
        return cls(
            as_of=(data.get("as_of") or "").strip(),
            accounts=(data.get("accounts") or "").strip(),
            subscriptions=(data.get("subscriptions") or "").strip(),
            classifications=[c for c in data.getlist("classifications") if c.strip()],
            estimation=(data.get("estimation") or PrepaidBillingRun.Estimation.SKIP).strip(),
            recurring=(data.get("recurring_interval_days") or "").strip(),
        )

    def as_of_date(self) -> date:
        """The as-of day (strict YYYY-MM-DD, core.months)."""
        try:
            return parse_date(self.as_of)
        except MonthError as exc:
            raise DomainError(f"as_of: {exc}") from None

    def recurring_days(self) -> int | None:
        """Blank -> None (a one-off run); otherwise a whole number of days."""
        if not self.recurring:
            return None
        if not (self.recurring.isascii() and self.recurring.isdigit() and len(self.recurring) <= 4):
            raise DomainError(
                "recurring_interval_days: expected a whole number of days, or blank for a one-off"
            )
        return int(self.recurring)

    def trigger_kwargs(self) -> dict:
        """Keyword arguments of wallets.services.runs.prepaid_run_trigger."""
        return {
            "as_of": self.as_of_date(),
            "accounts": split_codes(self.accounts),
            "subscriptions": split_codes(self.subscriptions),
            "classifications": self.classifications,
            "estimation": self.estimation.upper(),
            "recurring_interval_days": self.recurring_days(),
        }

    def confirm_text(self) -> str:
        """What the confirmation dialog says (static/wallets/forms.js keeps it in step)."""
        accounts = split_codes(self.accounts)
        who = (
            f"account{'s' if len(accounts) != 1 else ''} {', '.join(accounts)}"
            if accounts
            else ("every prepaid account in scope")
        )
        when = self.as_of or "the day chosen"
        return f"Rate and debit the wallets of {who} as of {when}? Debits are taken at once."
