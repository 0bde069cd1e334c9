"""837P for replacement and secondary claims: the segments, and pyx12 accepts them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from core.actors import Actor
from denials import x12_837 as w
from denials.models import Claim
from denials.services.x12_export import claims_export_837
from tests.denials.corr_builders import denied
from tests.denials.x12_validate import pyx12_validate

ENV = w.Envelope("SUBMITTER", "RECEIVER", "Clearinghouse", 43, 8, datetime(2026, 3, 1, 9, 30))
PROVIDER = w.Provider(
    "Billing Provider", "1234567893", "12-3456789", "1 Main Street", "Springfield", "IL",
    "62701-0001", "Billing Office", "(555) 555-0100",
)  # fmt: skip
LINE = w.Line("99213", Decimal("100.00"), Decimal("1"), date(2026, 2, 1))


def _claim(**kw) -> w.Claim:
    base = {
        "patient_control_number": "PCN1",
        "billed_amount": Decimal("100.00"),
        "payer_name": "Beta Health",
        "payer_id": "BETA01",
        "member_id": "SEC-M1",
        "last_name": "Doe",
        "first_name": "Jane",
        "birth_date": date(1980, 1, 2),
        "lines": [LINE],
    }
    return w.Claim(**(base | kw))


def _segments(text: str) -> list[list[str]]:
    return [s.split("*") for s in text.split("~") if s]


def test_replacement_claim_has_frequency_7_ref_f8_and_g1_and_validates():
    claim = _claim(frequency_code="7", original_reference="PAYER-CCN-1", authorization="AU-1")
    text = w.write_837(ENV, PROVIDER, [claim])
    ok, ack = pyx12_validate(text)
    assert ok, ack
    segs = _segments(text)
    clm = next(s for s in segs if s[0] == "CLM")
    assert clm[5] == "11:B:7"
    refs = [s for s in segs if s[0] == "REF" and s[1] in ("G1", "F8")]
    assert refs == [["REF", "G1", "AU-1"], ["REF", "F8", "PAYER-CCN-1"]]
    names = [s[0] for s in segs]
    assert names.index("CLM") < names.index("HI")
    assert names.index("HI") > max(i for i, s in enumerate(segs) if s[:2] == ["REF", "F8"])


def test_original_claim_has_no_f8_even_with_a_reference():
    text = w.write_837(ENV, PROVIDER, [_claim(original_reference="X")])
    assert "REF*F8" not in text and "11:B:1" in text


def test_secondary_claim_has_sbr_s_and_the_prior_payer_loops_and_validates():
    other = w.OtherPayer(
        payer_name="Acme Health",
        payer_id="ACME01",
        member_id="PRI-M1",
        last_name="Doe",
        first_name="Jane",
        paid=Decimal("60.00"),
        adjustments=[("CO", "45", Decimal("15")), ("PR", "1", Decimal("20")),
                     ("PR", "2", Decimal("5.50"))],
    )  # fmt: skip
    secondary = _claim(payer_sequence="S", other=other)
    primary_too = _claim(patient_control_number="PCN0")  # same member and payer, primary
    text = w.write_837(ENV, PROVIDER, [primary_too, secondary])
    ok, ack = pyx12_validate(text)
    assert ok, ack
    segs = _segments(text)
    sbrs = [s for s in segs if s[0] == "SBR"]
    # a subscriber loop per payer sequence, then the 2320 SBR of the primary payer (P)
    assert [s[1] for s in sbrs] == ["P", "S", "P"]
    at = max(i for i, s in enumerate(segs) if s[0] == "SBR")
    loop = segs[at : at + 7]
    assert loop[1] == ["CAS", "CO", "45", "15"]
    assert loop[2] == ["CAS", "PR", "1", "20", "", "2", "5.5"]
    assert loop[3] == ["AMT", "D", "60"]
    assert loop[4] == ["OI", "", "", "Y", "", "", "Y"]
    assert loop[5] == ["NM1", "IL", "1", "Doe", "Jane", "", "", "", "MI", "PRI-M1"]
    assert loop[6] == ["NM1", "PR", "2", "Acme Health", "", "", "", "", "PI", "ACME01"]
    assert segs[at + 7] == ["LX", "1"]


@pytest.mark.django_db
def test_export_of_a_secondary_claim_reads_the_primary_claim(world):
    d = denied(world.tenant, carc="197")
    primary = d.claim
    Claim.objects.filter(pk=primary.pk).update(subscriber_id="PRI-SUB-1")
    beta = type(primary.payer).objects.create(tenant=world.tenant, code="BETA", name="Beta Care")
    sec = Claim.objects.create(
        tenant=world.tenant,
        number="CLM-SEC-1",
        patient_control_number=primary.patient_control_number,
        payer=beta,
        member=primary.member,
        service_date=primary.service_date,
        service_date_to=primary.service_date_to,
        billed_amount=Decimal("40.00"),
        payer_sequence="S",
        primary_claim=primary,
        prior_payer_paid=Decimal("60.00"),
        prior_adjustments=[{"group": "PR", "carc": "1", "amount": "40.00"}],
        subscriber_id="SEC-SUB-1",
    )
    src = primary.lines.get()
    sec.lines.create(
        tenant=world.tenant, line_number=1, service_date=src.service_date, code=src.code,
        units=src.units, amount=Decimal("40.00"), source_line=src,
    )  # fmt: skip
    x = claims_export_837(
        actor=Actor.system_for(world.tenant), tenant=world.tenant, claim_numbers=["CLM-SEC-1"]
    )
    ok, ack = pyx12_validate(x.content)
    assert ok, ack
    segs = _segments(x.content)
    assert [s[1] for s in segs if s[0] == "SBR"] == ["S", "P"]
    assert ["NM1", "PR", "2", primary.payer.name, "", "", "", "", "PI", primary.payer.code] in segs
    assert ["NM1", "IL", "1", "Example", "Ada", "", "", "", "MI", "PRI-SUB-1"] in segs
    assert ["NM1", "IL", "1", "Example", "Ada", "", "", "", "MI", "SEC-SUB-1"] in segs
    assert ["AMT", "D", "60"] in segs and ["CAS", "PR", "1", "40"] in segs
