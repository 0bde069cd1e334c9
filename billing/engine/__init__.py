"""The billing rules engine: pure Python, no Django, no ORM (SPEC 4, "The engine").

`evaluate(facts, rules, month, cutoff)` decides one payer x member x month;
`retro_delta(outcome, billed)` turns a re-evaluated past month into a retroactive decision;
`parse_params(raw)` validates a rule version's params.
"""

from billing.engine.evaluate import evaluate, facts_from_inputs, retro_delta
from billing.engine.params import ParamsInvalid, params_hash, parse_params
from billing.engine.types import (
    BILLABLE_CLASSES,
    Assertion,
    DecisionClass,
    Finding,
    MemberFacts,
    Outcome,
    Override,
    Rules,
    ServiceEvent,
)

__all__ = [
    "BILLABLE_CLASSES",
    "Assertion",
    "DecisionClass",
    "Finding",
    "MemberFacts",
    "Outcome",
    "Override",
    "ParamsInvalid",
    "Rules",
    "ServiceEvent",
    "evaluate",
    "facts_from_inputs",
    "params_hash",
    "parse_params",
    "retro_delta",
]
