"""Decision replay: one decision's recorded inputs evaluated under any rule version."""

from __future__ import annotations

from datetime import datetime

from billing.engine import evaluate, facts_from_inputs
from billing.inputs import inputs_expand
from billing.models import RuleVersion
from billing.selectors import decision_get
from billing.services.rules import engine_rules
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import NotFound

_COMPARED = (
    "rule_version",
    "step",
    "days",
    "covered_days",
    "benefit",
    "tier",
    "qualifying_services",
    "period",
    "override",
)


def decision_replay(*, actor: Actor, decision_id: int, rule_version: str | int) -> dict:
    """Old and new class, amount and the inputs that differ; audited, nothing else written."""
    actor.require(S.BILLING_DECISION_REPLAY)
    decision = decision_get(actor, decision_id)
    versions = RuleVersion.objects.filter(tenant=actor.tenant, payer=decision.payer)
    rv = versions.filter(version=str(rule_version)).first()
    if rv is None and str(rule_version).isdigit():
        rv = versions.filter(pk=int(rule_version)).first()
    if rv is None:
        raise NotFound(
            f"rule_version: payer {decision.payer.code} has no rule version '{rule_version}'."
        )
    inputs = inputs_expand(decision.inputs, decision.tenant_id)
    cutoff = datetime.fromisoformat(inputs["cutoff"])
    outcome = evaluate(
        facts_from_inputs(inputs, decision.member_id), engine_rules(rv), decision.month, cutoff
    )
    retro = inputs.get("retro")
    old = {
        "decision_class": decision.decision_class,
        "amount": str(decision.amount),
        "billable_days": decision.billable_days,
        "tier": decision.tier,
        "rule_version": decision.rule_version.version,
    }
    if retro:
        old["evaluated_class"] = retro["evaluated_class"]
        old["evaluated_amount"] = retro["new_amount"]
    new = {
        "decision_class": str(outcome.decision_class),
        "amount": str(outcome.amount),
        "billable_days": outcome.billable_days,
        "tier": outcome.tier,
        "rule_version": rv.version,
        "exceptions": [f.code for f in outcome.exceptions],
    }
    differing = {
        key: {"old": inputs.get(key), "new": outcome.inputs.get(key)}
        for key in _COMPARED
        # decisions recorded before covered_days existed are not "different" for lacking it
        if inputs.get(key) != outcome.inputs.get(key) and (key in inputs or key != "covered_days")
    }
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="DECISION_REPLAYED",
        obj=decision,
        payload={
            "run": decision.run_id,
            "rule_version": rv.version,
            "old": {"class": old["decision_class"], "amount": old["amount"]},
            "new": {"class": new["decision_class"], "amount": new["amount"]},
        },
    )
    return {
        "decision": decision.pk,
        "run": decision.run_id,
        "payer": decision.payer.code,
        "month": decision.month.isoformat(),
        "old": old,
        "new": new,
        "changed": old["decision_class"] != new["decision_class"] or old["amount"] != new["amount"],
        "differing_inputs": differing,
    }
