"""build_claims and validate_charges commands (issue 13, items 1 and 2)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from denials.models import Charge, Claim
from tests.denials.charge_builders import charge, member, payers_and_members


@pytest.fixture
def known(world):
    payers_and_members(world.tenant)
    return world


def _run(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_build_claims_by_charge_prints_claims(known):
    charge(known.tenant, "A", amount="10.00")
    charge(known.tenant, "B", amount="5.00")
    result = _run("build_claims", "--tenant", "alpha", "--charge", "A", "--charge", "B")
    assert result["errors"] == {}
    assert [(c["number"], c["billed_amount"], c["charges"]) for c in result["claims"]] == [
        ("CLM-000001", "15.00", ["A", "B"])
    ]


def test_build_claims_refused_prints_errors_exits_1_and_builds_nothing(known):
    charge(known.tenant, "A")
    out = StringIO()
    with pytest.raises(CommandError, match="nothing was built"):
        call_command(
            "build_claims", "--tenant", "alpha", "--charge", "A", "--charge", "X", stdout=out
        )
    assert json.loads(out.getvalue()) == {"claims": [], "errors": {"X": ["unknown charge id"]}}
    assert not Claim.objects.exists()


def test_build_claims_all_valid(known):
    charge(known.tenant, "A")
    charge(known.tenant, "B", member_id="M-2")
    charge(known.tenant, "BAD", amount="0")
    result = _run("build_claims", "--tenant", "alpha", "--all-valid")
    assert [c["charges"] for c in result["claims"]] == [["A"], ["B"]]
    assert _run("build_claims", "--tenant", "alpha", "--all-valid") == {"claims": [], "errors": {}}


def test_build_claims_needs_one_way_to_choose(known):
    with pytest.raises(CommandError):
        call_command("build_claims", "--tenant", "alpha")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("build_claims", "--tenant", "nope", "--all-valid")


def test_validate_charges_after_upstream_fix(known):
    charge(known.tenant, "A", member_id="M-LATE")
    member(known.tenant, "M-LATE")
    assert _run("validate_charges", "--tenant", "alpha", "--today", "2026-11-30") == {
        "checked": 1,
        "valid": 1,
        "invalid": 0,
        "unknown": 0,
        "claimed": 0,
    }
    assert Charge.objects.get(charge_id="A").status == "VALID"
    with pytest.raises(CommandError, match="--today"):
        call_command("validate_charges", "--tenant", "alpha", "--today", "30/11/2026")
