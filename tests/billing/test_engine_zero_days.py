"""Zero covered days never bill, whatever min_billable_days says."""

from datetime import date

from billing.engine import DecisionClass
from tests.billing.engine_builders import assertion, decide, facts, rules


def test_zero_days_with_min_zero_is_not_billed_even_full_month():
    # given coverage that ends (10 June) before it starts (20 June), no minimum, FULL_MONTH
    member = facts(
        assertion(
            status="TERMINATED",
            effective_date=date(2026, 6, 20),
            termination_date=date(2026, 6, 10),
        ),
        services=[],
    )
    rule_version = rules(
        min_billable_days=0, proration="FULL_MONTH", requires_service_delivery=False
    )

    # when June is decided
    outcome = decide(member, rule_version)

    # then nothing is billed: the termination falls inside June
    assert outcome.decision_class == DecisionClass.NOT_BILLED_TERMINATED
    assert (outcome.billable, outcome.billable_days, str(outcome.amount)) == (False, 0, "0.00")
    assert outcome.inputs["step"] == "below_min_billable_days"
