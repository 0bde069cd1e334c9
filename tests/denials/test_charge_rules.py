"""Charge validation rules, pure (issue 13, item 1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from denials.charge_rules import ChargeFacts, charge_errors, claim_group_key

TODAY = date(2026, 11, 10)


def facts(**kw) -> ChargeFacts:
    base = {
        "payer_code": "NORTHWIND",
        "payer_known": True,
        "member_known": True,
        "service_date": date(2026, 11, 2),
        "code": "99213",
        "modifier": "",
        "units": Decimal("1"),
        "amount": Decimal("100.00"),
    }
    return ChargeFacts(**{**base, **kw})


def test_a_good_charge_has_no_errors():
    assert charge_errors(facts(), today=TODAY) == []


def test_service_today_is_not_in_the_future_but_tomorrow_is():
    assert charge_errors(facts(service_date=TODAY), today=TODAY) == []
    assert charge_errors(facts(service_date=date(2026, 11, 11)), today=TODAY) == [
        "service_date: must not be in the future, found 2026-11-11"
    ]


def test_every_problem_is_named_at_once_without_the_member_id():
    # given a charge wrong in every way
    errors = charge_errors(
        facts(
            payer_code="NOPE",
            payer_known=False,
            member_known=False,
            service_date=date(2027, 1, 1),
            code="9921",
            modifier="X",
            units=Decimal("0"),
            amount=Decimal("0"),
        ),
        today=TODAY,
    )
    # then each rule names its field
    assert [e.split(":")[0] for e in errors] == [
        "payer_code",
        "member_id",
        "service_date",
        "amount",
        "units",
        "code",
        "modifier",
    ]
    assert "NOPE" in errors[0]


@pytest.mark.parametrize("code", ["99213", "0001F", "0042T", "J1100", "G0008"])
def test_procedure_codes_accepted(code):
    assert charge_errors(facts(code=code), today=TODAY) == []


@pytest.mark.parametrize("code", ["9921", "992134", "ABCDE", "J110", "99-13", ""])
def test_malformed_procedure_codes_refused(code):
    assert charge_errors(facts(code=code), today=TODAY)[0].startswith("code: expected a CPT")


@pytest.mark.parametrize("amount", ["0", "-0.01", "-10"])
def test_amount_must_be_positive(amount):
    assert charge_errors(facts(amount=Decimal(amount)), today=TODAY) == [
        f"amount: must be more than 0, found {amount}"
    ]


def test_modifiers_up_to_four():
    assert charge_errors(facts(modifier="25:59:GT:95"), today=TODAY) == []
    assert charge_errors(facts(modifier="25:59:GT:95:76"), today=TODAY) != []


def test_group_key_by_claim_number_else_service_date():
    d1, d2 = date(2026, 11, 1), date(2026, 11, 2)
    assert claim_group_key(payer_id=1, member_id=2, claim_number="P1", service_date=d1) == (
        claim_group_key(payer_id=1, member_id=2, claim_number="P1", service_date=d2)
    )
    assert claim_group_key(payer_id=1, member_id=2, claim_number="", service_date=d1) != (
        claim_group_key(payer_id=1, member_id=2, claim_number="", service_date=d2)
    )
