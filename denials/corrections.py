"""Auto-correction rules for denials (issue 14 item 3): pure, no Django.

A handler is registered for the CARCs it corrects with `@register(name, carcs=..., reads=...)`.
It is called with exactly the input keys it declares (`reads`) and returns a `Decision`:
SUCCESS (rebill a replacement claim with `changes`), SKIPPED (nothing to correct yet) or
FAILED (no correction possible). `fingerprint(handler, inputs)` hashes exactly the handler's
name, version and the inputs it reads, so the service runs a handler once per set of facts.

Inputs are plain JSON values (dates as ISO strings). Member ids are PHI: a handler may read
them but never writes them into `result` messages; `changes` carries the corrected values.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

SUCCESS, SKIPPED, FAILED = "SUCCESS", "SKIPPED", "FAILED"


@dataclass(frozen=True)
class Decision:
    """What a handler decided: outcome, a result for people (message + what changes) and the
    changes to apply to the replacement claim."""

    outcome: str
    result: dict
    changes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Handler:
    """A registered correction rule."""

    name: str
    carcs: tuple[str, ...]
    version: str
    reads: tuple[str, ...]
    description: str
    fn: Callable[[dict], Decision]


_REGISTRY: dict[str, Handler] = {}


def register(name: str, *, carcs: tuple[str, ...], reads: tuple[str, ...], version: str = "1"):
    """Decorator: make a handler known for its CARCs (registration order is preference order)."""

    def wrap(fn: Callable[[dict], Decision]) -> Callable[[dict], Decision]:
        doc = ((fn.__doc__ or "").strip().splitlines() or [""])[0]
        _REGISTRY[name] = Handler(name, tuple(carcs), version, tuple(reads), doc, fn)
        return fn

    return wrap


def handler_get(name: str) -> Handler:
    """The registered handler, or KeyError naming the known ones."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown correction handler '{name}'; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def handlers() -> list[Handler]:
    """Every registered handler, in registration order."""
    return list(_REGISTRY.values())


def handlers_for(carc: str) -> list[str]:
    """Names of the handlers that correct this CARC, preferred first."""
    carc = str(carc or "").strip()
    return [h.name for h in _REGISTRY.values() if carc in h.carcs]


def supported_carcs() -> list[str]:
    """Every CARC some handler corrects."""
    return sorted({c for h in _REGISTRY.values() for c in h.carcs}, key=lambda c: (len(c), c))


def inputs_read(name: str, inputs: dict) -> dict:
    """Exactly the inputs the handler declares (missing ones as None)."""
    return {key: inputs.get(key) for key in handler_get(name).reads}


def fingerprint(name: str, inputs: dict) -> str:
    """sha256 hex of the canonical JSON of {handler, version, inputs read}."""
    h = handler_get(name)
    body = {"handler": h.name, "version": h.version, "inputs": inputs_read(name, inputs)}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run(name: str, inputs: dict) -> Decision:
    """Run a handler on the inputs it reads (and only those)."""
    return handler_get(name).fn(inputs_read(name, inputs))


# --- handlers -------------------------------------------------------------------------------


@register(
    "missing_authorization",
    carcs=("197", "15"),
    reads=("claim_authorization", "lines"),
)
def missing_authorization(inputs: dict) -> Decision:
    """Rebill with the prior authorization now on file for the claim's lines (CARC 197, 15)."""
    sent = (inputs.get("claim_authorization") or "").strip()
    on_file = [
        (ln.get("authorization") or "").strip()
        for ln in inputs.get("lines") or []
        if (ln.get("authorization") or "").strip()
    ]
    if not on_file:
        return Decision(SKIPPED, {"message": "no authorization on file yet"})
    new = on_file[0]
    if new == sent:
        return Decision(
            SKIPPED,
            {"message": "the authorization on file is the one already sent: obtain a new one"},
        )
    return Decision(
        SUCCESS,
        {"message": f"authorization {new} is now on file: rebill with it", "authorization": new},
        {"authorization": new},
    )


@register(
    "member_id_mismatch",
    carcs=("31", "140"),
    reads=("sent_member_id", "current_member_id"),
)
def member_id_mismatch(inputs: dict) -> Decision:
    """Rebill under the member's current id when it changed since submission (CARC 31, 140)."""
    sent = (inputs.get("sent_member_id") or "").strip()
    current = (inputs.get("current_member_id") or "").strip()
    if not current:
        return Decision(FAILED, {"message": "the member has no id on record"})
    if sent == current:
        return Decision(
            SKIPPED,
            {"message": "the member id is the one already sent: correct the member record first"},
        )
    # the ids themselves are PHI: the message says what happened, `changes` carries the value
    return Decision(
        SUCCESS,
        {"message": "member id changed since submission: rebill under the current id"},
        {"subscriber_id": current},
    )


# Codes the payer refuses without a modifier (version 1 of the table; a change to it is a new
# handler version, so earlier fingerprints run again): allowed modifiers, and the default used
# when the charge carries none (None: someone must supply it; laterality cannot be guessed).
MODIFIER_TABLE: dict[str, tuple[tuple[str, ...], str | None]] = {
    "97110": (("GP", "GO", "GN"), "GP"),  # therapeutic exercise: therapy discipline
    "97140": (("GP", "GO", "GN"), "GP"),  # manual therapy
    "97530": (("GP", "GO", "GN"), "GP"),  # therapeutic activities
    "20610": (("RT", "LT", "50"), None),  # major joint injection: which side
    "73030": (("RT", "LT"), None),  # shoulder x-ray: which side
    "73562": (("RT", "LT"), None),  # knee x-ray: which side
    "G0283": (("GP", "GO"), "GP"),  # electrical stimulation
}


def _mods(value: str) -> list[str]:
    text = (value or "").upper()
    return [t[i : i + 2] for t in re.split(r"[^0-9A-Z]+", text) for i in range(0, len(t), 2)]


@register(
    "missing_modifier",
    carcs=("4",),
    reads=("lines",),
)
def missing_modifier(inputs: dict) -> Decision:
    """Rebill lines with the modifier their code needs (CARC 4; built-in table, version 1)."""
    changes: dict[str, str] = {}
    missing: list[str] = []
    for ln in inputs.get("lines") or []:
        number, code = str(ln.get("line")), (ln.get("code") or "").strip().upper()
        sent = (ln.get("modifier") or "").strip().upper()
        current = (ln.get("current_modifier") or "").strip().upper()
        need = MODIFIER_TABLE.get(code)
        if need is None:
            if current and current != sent:  # someone corrected the charge by hand
                changes[number] = current
            continue
        allowed, default = need
        if any(m in allowed for m in _mods(current)):
            new = current
        elif any(m in allowed for m in _mods(sent)):
            new = sent
        elif default is not None:
            new = ",".join([*(m for m in _mods(current or sent) if m), default])
        else:
            missing.append(f"line {number} ({code}) needs one of {', '.join(allowed)}")
            continue
        if new != sent:
            changes[number] = new
    if missing:
        return Decision(
            FAILED, {"message": "no modifier supplied: " + "; ".join(missing), "lines": missing}
        )
    if not changes:
        return Decision(SKIPPED, {"message": "nothing differs from what was sent"})
    lines = ", ".join(f"line {n}: {m}" for n, m in sorted(changes.items()))
    return Decision(
        SUCCESS,
        {"message": f"rebill with modifiers {lines}", "modifiers": changes},
        {"modifiers": changes},
    )


@register(
    "timely_filing",
    carcs=("29",),
    reads=("first_service_date", "original_submitted_on", "original_interchange", "filing_days"),
)
def timely_filing(inputs: dict) -> Decision:
    """Rebill with proof of the original, timely submission (CARC 29)."""
    served = date.fromisoformat(inputs["first_service_date"])
    days = int(inputs.get("filing_days") or 0)
    deadline = served + timedelta(days=days)
    submitted = inputs.get("original_submitted_on")
    if not submitted:
        return Decision(
            FAILED,
            {"message": f"no submission on record; filing limit passed on {deadline}: write off"},
        )
    on = date.fromisoformat(submitted)
    if on > deadline:
        return Decision(
            FAILED,
            {
                "message": f"filing limit passed on {deadline} (first sent {on}): write off",
                "deadline": deadline.isoformat(),
            },
        )
    icn = inputs.get("original_interchange") or "unknown"
    return Decision(
        SUCCESS,
        {
            "message": (
                f"originally submitted on {on} in interchange {icn}, inside the {days}-day "
                f"limit (until {deadline}): rebill as a replacement with that proof"
            ),
            "submitted_on": on.isoformat(),
            "interchange": icn,
            "deadline": deadline.isoformat(),
        },
    )
