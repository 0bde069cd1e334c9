"""manage.py check_835: what an 835 upload would load, without storing anything."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import Payer
from tests.denials import x835_files as f


def run(world, path, *extra) -> tuple[dict, int]:
    out = StringIO()
    code = 0
    try:
        call_command("check_835", "--tenant", world.tenant.slug, str(path), *extra, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return json.loads(out.getvalue()), code


def test_check_835_summarises_the_sample(world):
    # given the shared sample and its payer, known by TRN03
    Payer.objects.create(
        tenant=world.tenant, code="NYS", name="New York Medicaid", x12_payer_id="1000000000"
    )
    # when checked
    out, code = run(world, f.SAMPLE)
    # then one payment of 45.75 over three claims, nothing refused
    assert code == 0
    assert out == {
        "claims": 3,
        "payments": [
            {
                "payer": "NYS",
                "trace": "10100000000",
                "amount": "45.75",
                "date": "2010-01-01",
                "claims": 3,
                "warnings": [],
                "errors": [],
                "paid": "45.75",
            }
        ],
    }


def test_check_835_names_the_refusal(world, tmp_path):
    # given an 835 whose payer the tenant does not know
    path = tmp_path / "unknown.835"
    path.write_bytes(f.simple_file(payer="NOBODY", payer_id="NOPE", originator="1"))
    # when checked: exit code 1 and the reason
    out, code = run(world, path)
    assert code == 1
    assert "N1*PR04 'NOPE'" in out["refused"]


@pytest.mark.parametrize("payer", ["ACME"])
def test_check_835_with_the_uploads_payer(world, tmp_path, payer):
    # given the same file checked as ACME's
    Payer.objects.create(tenant=world.tenant, code=payer, name="Acme")
    path = tmp_path / "acme.835"
    path.write_bytes(f.simple_file(payer="NOBODY", payer_id="NOPE", amount="90.00"))
    out, code = run(world, path, "--payer", payer)
    # then loaded as ACME's, with the BPR02 warning listed once
    assert code == 0
    assert out["payments"][0]["payer"] == "ACME"
    assert [w[:22] for w in out["payments"][0]["warnings"]] == ["BPR02 payment 90.00 di"]
