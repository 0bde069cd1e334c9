"""The 835 files the reader's tests build are valid 005010X221A1 (pyx12's validator), so the
tests read what payers send."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests.denials import x835_files as f


def x12_errors(content: str) -> list[str]:
    """Every error pyx12's 835 map finds in the file (empty when it is valid)."""
    import pyx12.params
    import pyx12.x12n_document

    out = io.StringIO()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # it logs each error too
    ok = pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(content), None, None, fd_json=out
    )
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(str(e.get("err_str")) for e in node.get("errors") or [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(out.getvalue() or "{}"))
    return found if found or ok else ["invalid (no detail)"]


FILES = {
    "one-claim": lambda: f.simple_file().decode(),
    "claim-cas-moa-lq-plb": lambda: f.interchange(
        [
            f.transaction(
                [
                    f.claim("A1", pccn="P1"),
                    f.claim(
                        "A2",
                        pccn="P2",
                        charge="160",
                        paid="100",
                        pr="10",
                        cas=["CAS*PR*1*10"],
                        extra=["MOA***MA01"],
                        lines=[
                            f.svc("99214", "150", "100", "20260106", ["CAS*CO*45*50", "LQ*HE*M15"])
                        ],
                    ),
                ],
                plb=["PLB*1999999995*20261231*WO:X1*5"],
                amount="175.00",
            )
        ]
    ),
    "denied": lambda: f.interchange(
        [
            f.transaction(
                [
                    f.claim(
                        status="4",
                        paid="0",
                        pr="0",
                        lines=[f.svc("99213", "100", "0", "20260105", ["CAS*CO*29*100"])],
                    )
                ]
            )
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_test_835_files_pass_pyx12_validation(name):
    assert x12_errors(FILES[name]()) == []


def test_validator_finds_a_misplaced_segment():
    # given a claim-level CAS after NM1*QC (the map wants it right after CLP)
    content = f.interchange([f.transaction([f.claim(extra=["CAS*CO*45*0"])])])
    # then the validator says so (the check above can fail)
    assert x12_errors(content) != []
