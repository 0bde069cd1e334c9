"""What posting one remittance claim (an 835 CLP) does to a claim (issue 13 item 8). Pure.

| the payer said | posted as |
| --- | --- |
| CLP04 paid amount | one PAYMENT |
| CAS PR (patient responsibility) | PATIENT_RESPONSIBILITY per CARC |
| CAS CO/OA/PI/CR on money the payer paid (contractual, like CO-45) | ADJUSTMENT with group, CARC |
| CAS CO/OA/PI/CR on money the payer denied | no application: a Denial per (group, CARC) |
| CLP02 22 (reversal of an earlier payment) | REVERSAL of each earlier application |

An adjustment is a denial when the claim is denied (CLP02 4), when its CARC is a denial reason
(`DENIAL_CARCS`, e.g. 29 timely filing, 251 missing documentation), or when the line (or claim)
it sits on was paid nothing and its CARC is not a contractual one (`CONTRACTUAL_CARCS`). Denied
money stays in the claim's balance until the denial is worked (written off, or paid on appeal).
Denials are summed per (group, CARC) over the claim and its lines; their remarks are the claim's
remarks plus those of the lines they sit on.

Claim status after posting (`claim_status`): DENIED when CLP02 is 4, or nothing is paid and a
denial is open; PAID at balance 0 (or below); PARTIALLY_PAID when something was paid or reduced;
otherwise SUBMITTED (everything posted was taken back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from denials.remit_rows import RemitRow

ZERO = Decimal("0.00")
PAYMENT = "PAYMENT"
ADJUSTMENT = "ADJUSTMENT"
PATIENT_RESPONSIBILITY = "PATIENT_RESPONSIBILITY"
REVERSAL = "REVERSAL"
DENIED_CODE = "4"
REVERSAL_CODE = "22"

# CARCs that deny payment whatever was paid elsewhere on the claim.
DENIAL_CARCS = frozenset(
    {
        "4", "5", "6", "7", "8", "9", "11", "16", "18", "19", "26", "27", "29", "31", "32", "33",
        "34", "35", "39", "40", "49", "50", "51", "54", "55", "56", "58", "96", "109", "119",
        "146", "167", "170", "171", "181", "182", "183", "185", "189", "197", "198", "199",
        "200", "204", "208", "226", "227", "236", "242", "251", "252",
    }
)  # fmt: skip
# Contractual or pricing CARCs: an adjustment even on a line paid nothing.
CONTRACTUAL_CARCS = frozenset({"23", "42", "45", "59", "94", "97", "131", "144", "253"})


@dataclass(frozen=True)
class PlannedApplication:
    """One application to write (amount positive)."""

    kind: str
    amount: Decimal
    group_code: str = ""
    carc: str = ""
    line: int | None = None


@dataclass(frozen=True)
class PlannedDenial:
    """One Denial to open: a (group, CARC) summed over the claim and its lines."""

    group_code: str
    carc: str
    amount: Decimal
    rarcs: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """What posting one remittance claim writes, and what it could not post (notes)."""

    reversal: bool
    applications: tuple[PlannedApplication, ...] = ()
    denials: tuple[PlannedDenial, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def denied_amount(self) -> Decimal:
        return sum((d.amount for d in self.denials), ZERO)


def _line_paid(row: RemitRow) -> dict[int, Decimal]:
    paid: dict[int, Decimal] = {}
    for item in row.lines:
        if not isinstance(item, dict):
            continue
        try:
            paid[int(item.get("line"))] = Decimal(str(item.get("paid") or "0"))
        except (TypeError, ValueError, ArithmeticError):
            continue
    return paid


def is_denial(row: RemitRow, group: str, carc: str, line: int | None, line_paid: dict) -> bool:
    """Whether a non-PR adjustment denies money (see the module's rules)."""
    if row.status_code == DENIED_CODE or carc in DENIAL_CARCS:
        return True
    if carc in CONTRACTUAL_CARCS:
        return False
    paid = line_paid.get(line, row.paid_amount) if line is not None else row.paid_amount
    return paid == 0


def plan(row: RemitRow) -> Plan:
    """The applications and denials one remittance claim posts (reversals: see the service)."""
    if row.is_reversal:
        return Plan(reversal=True)
    apps: list[PlannedApplication] = []
    notes: list[str] = []
    if row.paid_amount > 0:
        apps.append(PlannedApplication(PAYMENT, row.paid_amount))
    elif row.paid_amount < 0:
        notes.append(
            f"paid amount {row.paid_amount} is negative on a claim status {row.status_code} "
            "(only status 22 takes money back): not posted"
        )
    line_paid = _line_paid(row)
    denied: dict[tuple[str, str], Decimal] = {}
    denied_lines: dict[tuple[str, str], set] = {}
    for adj in row.adjustments:
        if adj.amount == 0:
            continue
        if adj.amount < 0:
            notes.append(f"adjustment {adj.text()} is negative: not posted")
            continue
        if adj.group == "PR":
            apps.append(
                PlannedApplication(PATIENT_RESPONSIBILITY, adj.amount, "PR", adj.carc, adj.line)
            )
        elif is_denial(row, adj.group, adj.carc, adj.line, line_paid):
            key = (adj.group, adj.carc)
            denied[key] = denied.get(key, ZERO) + adj.amount
            denied_lines.setdefault(key, set()).add(adj.line)
        else:
            apps.append(PlannedApplication(ADJUSTMENT, adj.amount, adj.group, adj.carc, adj.line))
    denials = []
    for key, amount in denied.items():
        lines = denied_lines[key]
        rarcs: list[str] = []
        for remark in row.remarks:
            if (remark.line is None or remark.line in lines) and remark.code not in rarcs:
                rarcs.append(remark.code)
        denials.append(PlannedDenial(key[0], key[1], amount, tuple(rarcs)))
    return Plan(False, tuple(apps), tuple(denials), tuple(notes))


def balancing_problem(row: RemitRow) -> str | None:
    """The 835 balancing rule: CLP03 charge = CLP04 paid + every CAS amount; else a warning."""
    adjusted = sum((a.amount for a in row.adjustments), ZERO)
    if row.charge_amount == row.paid_amount + adjusted:
        return None
    return (
        f"claim {row.payer_claim_control_number}: charge {row.charge_amount} is not paid "
        f"{row.paid_amount} plus adjustments {adjusted}"
    )


def claim_status(
    *, balance: Decimal, paid_net: Decimal, reduced: bool, open_denials: bool, denied_code: bool
) -> str:
    """A claim's status from what is posted on it (see the module's rules)."""
    if denied_code or (paid_net <= 0 and open_denials):
        return "DENIED"
    if balance <= 0:
        return "PAID"
    if paid_net > 0 or reduced:
        return "PARTIALLY_PAID"
    return "SUBMITTED"
