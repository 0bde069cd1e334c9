"""The 9.2 status reference: every denial state and the moves allowed from it, generated from
the Denial state machine itself (so the page, the API and the tests never drift from it)."""

from __future__ import annotations

from denials.models import Denial

# Moves that are overrides (core.overrides) when taken normally; every non-system move can
# also be taken as a manual flip (an override of its own).
OVERRIDE_MOVES = {"reopen": "denials.denial_reopen"}
FLIP_ACTION = "denials.denial_flip"
# Moves whose service refuses an empty reason (write-off's reason is the contract's, not the FSM's).
REASON_REQUIRED = {"write_off", "reopen"}


def denial_transitions() -> list:
    """Every transition of Denial.status, as django-fsm describes it (one per source state)."""
    field = Denial._meta.get_field("status")
    return list(field.get_all_transitions(Denial))


def denial_moves() -> list[dict]:
    """One dict per state: its label and the moves leaving it (label, target, effect...)."""
    labels = dict(Denial.Status.choices)
    by_state: dict[str, list[dict]] = {state: [] for state in Denial.Status.values}
    for t in denial_transitions():
        custom = t.custom or {}
        sources = Denial.Status.values if t.source == "*" else [t.source]
        for source in sources:
            by_state[source].append(
                {
                    "transition": t.name,
                    "label": custom.get("label", t.name.replace("_", " ").capitalize()),
                    "to": t.target,
                    "to_label": labels.get(t.target, t.target),
                    "effect": custom.get("effect", ""),
                    "system": bool(custom.get("system", False)),
                    "reason_required": bool(custom.get("reason_required"))
                    or t.name in REASON_REQUIRED,
                    "override": t.name in OVERRIDE_MOVES,
                    "flippable": not custom.get("system", False),
                }
            )
    return [
        {
            "state": state,
            "label": labels[state],
            "moves": sorted(moves, key=lambda m: (m["to"], m["transition"])),
        }
        for state, moves in by_state.items()
    ]


def allowed_targets(state: str, *, flippable: bool = False) -> list[str]:
    """The states a denial may move to from `state` (only by a flip, when asked)."""
    for row in denial_moves():
        if row["state"] == state:
            return sorted({m["to"] for m in row["moves"] if m["flippable"] or not flippable})
    return []
