"""Rule version params against the SPEC 4 schema: every violation named with its path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.engine import ParamsInvalid, params_hash, parse_params
from billing.engine.types import BenefitCombination, PricingTier
from tests.billing.engine_builders import SPEC_PARAMS, params

TIER = {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"}


def violations(raw) -> list[str]:
    """The violations parse_params names for `raw` (fails if it accepts them)."""
    with pytest.raises(ParamsInvalid) as caught:
        parse_params(raw)
    assert str(caught.value) == "; ".join(caught.value.violations)
    return caught.value.violations


def test_parse_params_accepts_the_spec_example():
    parsed = parse_params(SPEC_PARAMS)
    assert parsed.requires_service_delivery is True
    assert parsed.qualifying_service_codes == ("99213", "99214")
    assert parsed.retro_window_months == 3
    assert parsed.proration == "DAILY"
    assert parsed.min_billable_days == 1
    assert parsed.file_precedence == ("MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE")
    assert parsed.benefit_combinations == (BenefitCombination("MED", "D", "MED_DENTAL"),)
    assert parsed.pricing_tiers == (PricingTier("MED", 0, 64, Decimal("412.50")),)
    assert isinstance(parsed.pricing_tiers[0].rate, Decimal)


def test_parse_params_fills_optional_fields_with_defaults():
    parsed = parse_params(
        {"requires_service_delivery": False, "proration": "FULL_MONTH", "pricing_tiers": []}
    )
    assert parsed.qualifying_service_codes == ()
    assert parsed.retro_window_months == 0
    assert parsed.min_billable_days == 1
    assert parsed.file_precedence == ("MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE")
    assert parsed.benefit_combinations == ()
    assert parsed.pricing_tiers == ()


def test_parse_params_normalises_codes_to_upper_case_without_spaces():
    raw = params(
        qualifying_service_codes=[" g0438 "],
        benefit_combinations=[{"primary": "med", "suffix": "d", "combined": "med_dental"}],
        pricing_tiers=[{**TIER, "benefit": " med "}],
    )
    parsed = parse_params(raw)
    assert parsed.qualifying_service_codes == ("G0438",)
    assert parsed.benefit_combinations == (BenefitCombination("MED", "D", "MED_DENTAL"),)
    assert parsed.pricing_tiers[0].benefit == "MED"


def test_parse_params_accepts_the_bounds():
    raw = params(
        retro_window_months=24,
        min_billable_days=0,
        pricing_tiers=[{**TIER, "min_age": 150, "max_age": 150, "rate": "0"}],
    )
    parsed = parse_params(raw)
    assert parsed.retro_window_months == 24
    assert parsed.min_billable_days == 0
    assert parsed.pricing_tiers[0].rate == Decimal("0")


@pytest.mark.parametrize("raw", [None, [], "params", 3, [SPEC_PARAMS]])
def test_parse_params_rejects_non_objects(raw):
    assert violations(raw) == ["params: expected an object"]


def test_parse_params_names_the_bad_rate_path():
    tiers = [TIER, TIER, {**TIER, "rate": 412.5}]
    assert violations(params(pricing_tiers=tiers)) == [
        "pricing_tiers[2].rate: expected a decimal string"
    ]


def test_parse_params_names_unknown_fields_sorted():
    assert violations(params(zeta=1, alpha=2)) == ["alpha: unknown field", "zeta: unknown field"]


@pytest.mark.parametrize("key", ["requires_service_delivery", "proration", "pricing_tiers"])
def test_parse_params_names_each_missing_required_field(key):
    raw = params()
    del raw[key]
    assert violations(raw) == [f"{key}: required"]


def test_parse_params_names_every_violation_at_once():
    found = violations({"bogus": True})
    assert found == [
        "bogus: unknown field",
        "requires_service_delivery: required",
        "proration: required",
        "pricing_tiers: required",
    ]


@pytest.mark.parametrize("value", [1, 0, "true", None, "yes"])
def test_requires_service_delivery_must_be_a_boolean(value):
    assert violations(params(requires_service_delivery=value)) == [
        "requires_service_delivery: expected true or false"
    ]


@pytest.mark.parametrize("value", ["99213", {"a": 1}, None, 5])
def test_qualifying_service_codes_must_be_a_list(value):
    assert violations(params(qualifying_service_codes=value)) == [
        "qualifying_service_codes: expected a list"
    ]


@pytest.mark.parametrize("value", ["", "   ", 99213, None, ["x"]])
def test_qualifying_service_codes_items_must_be_non_empty_strings(value):
    assert violations(params(qualifying_service_codes=["99213", value])) == [
        "qualifying_service_codes[1]: expected a non-empty string"
    ]


@pytest.mark.parametrize("value", [True, False, -1, 25, 1.0, "3", None])
def test_retro_window_months_must_be_a_whole_number_from_0_to_24(value):
    assert violations(params(retro_window_months=value)) == [
        "retro_window_months: expected a whole number from 0 to 24"
    ]


@pytest.mark.parametrize("value", ["daily", "MONTHLY", "", None, 1])
def test_proration_must_be_daily_or_full_month(value):
    assert violations(params(proration=value)) == ["proration: expected one of DAILY, FULL_MONTH"]


def test_proration_rejects_a_list():
    assert violations(params(proration=["DAILY"])) == [
        "proration: expected one of DAILY, FULL_MONTH"
    ]


@pytest.mark.parametrize("value", [True, -1, 32, 1.5, "1", None])
def test_min_billable_days_must_be_a_whole_number_from_0_to_31(value):
    assert violations(params(min_billable_days=value)) == [
        "min_billable_days: expected a whole number from 0 to 31"
    ]


@pytest.mark.parametrize("value", ["MANUAL", None, {"MANUAL": 1}])
def test_file_precedence_must_be_a_list(value):
    assert violations(params(file_precedence=value)) == ["file_precedence: expected a list"]


@pytest.mark.parametrize("value", ["PAPER", "manual", "", None, 3])
def test_file_precedence_items_must_be_known_source_kinds(value):
    assert violations(params(file_precedence=["MANUAL", value])) == [
        "file_precedence[1]: expected one of MANUAL, AMENDED_FILE, FULL_FILE, CHANGE_FILE"
    ]


def test_file_precedence_rejects_duplicates():
    assert violations(params(file_precedence=["MANUAL", "FULL_FILE", "MANUAL"])) == [
        "file_precedence: expected each source kind at most once"
    ]


def test_file_precedence_rejects_unhashable_items_without_crashing():
    assert violations(params(file_precedence=[["MANUAL"], {"k": 1}])) == [
        "file_precedence[0]: expected one of MANUAL, AMENDED_FILE, FULL_FILE, CHANGE_FILE",
        "file_precedence[1]: expected one of MANUAL, AMENDED_FILE, FULL_FILE, CHANGE_FILE",
    ]


def test_file_precedence_may_omit_kinds():
    assert parse_params(params(file_precedence=["MANUAL"])).file_precedence == ("MANUAL",)


@pytest.mark.parametrize("value", ["MED", None, {"primary": "MED"}])
def test_benefit_combinations_must_be_a_list(value):
    assert violations(params(benefit_combinations=value)) == [
        "benefit_combinations: expected a list"
    ]


@pytest.mark.parametrize("item", ["MED+D", None, ["MED", "D", "MED_DENTAL"], 1])
def test_benefit_combinations_items_must_be_objects(item):
    combos = [{"primary": "MED", "suffix": "D", "combined": "MED_DENTAL"}, item]
    assert violations(params(benefit_combinations=combos)) == [
        "benefit_combinations[1]: expected an object {primary, suffix, combined}"
    ]


def test_benefit_combinations_fields_must_be_non_empty_strings():
    combos = [{"primary": "", "suffix": 4}]
    assert violations(params(benefit_combinations=combos)) == [
        "benefit_combinations[0].primary: expected a non-empty string",
        "benefit_combinations[0].suffix: expected a non-empty string",
        "benefit_combinations[0].combined: expected a non-empty string",
    ]


@pytest.mark.parametrize("value", [TIER, "MED", None])
def test_pricing_tiers_must_be_a_list(value):
    assert violations(params(pricing_tiers=value)) == ["pricing_tiers: expected a list"]


@pytest.mark.parametrize("item", ["MED", None, [TIER], 412.5])
def test_pricing_tiers_items_must_be_objects(item):
    assert violations(params(pricing_tiers=[TIER, item])) == [
        "pricing_tiers[1]: expected an object {benefit, min_age, max_age, rate}"
    ]


@pytest.mark.parametrize("field", ["min_age", "max_age"])
@pytest.mark.parametrize("value", [True, False, -1, 151, 1.0, "10", None])
def test_pricing_tier_ages_must_be_whole_numbers_from_0_to_150(field, value):
    # a max_age that fails falls back to 0, which also reads as below a min_age of 0: no
    # second violation, since min_age 0 is the lowest
    tier = {**TIER, "min_age": 0, field: value}
    assert violations(params(pricing_tiers=[tier])) == [
        f"pricing_tiers[0].{field}: expected a whole number from 0 to 150"
    ]


def test_pricing_tier_max_age_below_min_age():
    tier = {**TIER, "min_age": 65, "max_age": 64}
    assert violations(params(pricing_tiers=[TIER, tier])) == [
        "pricing_tiers[1].max_age: expected max_age >= min_age"
    ]


def test_pricing_tier_single_age_is_allowed():
    tier = {**TIER, "min_age": 65, "max_age": 65}
    assert parse_params(params(pricing_tiers=[tier])).pricing_tiers[0].max_age == 65


@pytest.mark.parametrize("value", ["", "  ", None, 7])
def test_pricing_tier_benefit_must_be_a_non_empty_string(value):
    assert violations(params(pricing_tiers=[{**TIER, "benefit": value}])) == [
        "pricing_tiers[0].benefit: expected a non-empty string"
    ]


@pytest.mark.parametrize("value", [412.5, 412, None, True, ["412.50"], "abc", "", "4,12"])
def test_pricing_tier_rate_must_be_a_decimal_string(value):
    assert violations(params(pricing_tiers=[{**TIER, "rate": value}])) == [
        "pricing_tiers[0].rate: expected a decimal string"
    ]


@pytest.mark.parametrize("value", ["412.505", "-1.00", "-0.01", "NaN", "Infinity", "-Infinity"])
def test_pricing_tier_rate_must_be_non_negative_with_at_most_two_decimals(value):
    assert violations(params(pricing_tiers=[{**TIER, "rate": value}])) == [
        "pricing_tiers[0].rate: expected a non-negative amount with at most 2 decimals"
    ]


@pytest.mark.parametrize("value", ["412", "412.5", "412.50", "0.01", "1E+2"])
def test_pricing_tier_rate_accepts_up_to_two_decimals(value):
    assert parse_params(params(pricing_tiers=[{**TIER, "rate": value}])).pricing_tiers[
        0
    ].rate == Decimal(value)


def test_pricing_tier_missing_fields_are_each_named():
    assert violations(params(pricing_tiers=[{}])) == [
        "pricing_tiers[0].min_age: expected a whole number from 0 to 150",
        "pricing_tiers[0].max_age: expected a whole number from 0 to 150",
        "pricing_tiers[0].benefit: expected a non-empty string",
        "pricing_tiers[0].rate: expected a decimal string",
    ]


def test_params_hash_is_stable_regardless_of_key_order():
    reordered = dict(reversed(list(SPEC_PARAMS.items())))
    reordered["pricing_tiers"] = [dict(reversed(list(TIER.items())))]
    assert list(reordered) != list(SPEC_PARAMS)
    assert params_hash(reordered) == params_hash(SPEC_PARAMS)
    assert len(params_hash(SPEC_PARAMS)) == 64
    int(params_hash(SPEC_PARAMS), 16)


def test_params_hash_changes_with_any_value():
    assert params_hash(params(min_billable_days=2)) != params_hash(SPEC_PARAMS)
    tiers = [{**TIER, "rate": "412.51"}]
    assert params_hash(params(pricing_tiers=tiers)) != params_hash(SPEC_PARAMS)


def test_params_hash_is_the_sha256_of_canonical_json():
    import hashlib

    assert (
        params_hash({"b": [1, "é"], "a": True})
        == hashlib.sha256('{"a":true,"b":[1,"é"]}'.encode()).hexdigest()
    )
