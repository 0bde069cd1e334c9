"""The shared 835 sample end to end: uploaded as an X12 file, read by the 835 reader, posted.

Needs the 835 reader (part x835, `denials.x12_835`); until it is merged the test skips saying so.
The sample: /work/shared/testdata/x12/835-x12parser-profee.edi (tastypackets/x12-parser, MIT),
copied to tests/data/x12/ byte for byte.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from core import scopes as S
from denials.models import Denial, Remittance
from denials.models import RemittanceClaim as RC
from ingestion import services
from ingestion.models import Batch
from ingestion.registry import get_handler, register_handler
from tests.denials.remit_builders import sample_claims
from tests.denials.test_posting import amounts

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "x12" / "835-x12parser-profee.edi"
D = Decimal


@pytest.fixture
def reader_wired(settings, tmp_path):
    """The REMITTANCE kind with the 835 reader (as the merge wires it)."""
    settings.MEDIA_ROOT = tmp_path
    try:
        from denials.x12_835 import read_835_for_ingestion
    except ImportError:
        print("skipped: denials.x12_835 (the 835 reader) is not merged yet")
        pytest.skip("denials.x12_835 (the 835 reader) is not merged yet")
    handler = get_handler("REMITTANCE")
    if handler.x12 is None:
        register_handler(dataclasses.replace(handler, x12=read_835_for_ingestion))
    yield
    register_handler(handler)


def load_sample(actor) -> Batch:
    batch = services.batch_ingest_file(
        actor=actor,
        kind="REMITTANCE",
        filename="remit.835",
        content=SAMPLE.read_bytes(),
        enqueue=False,
        options={"payer_code": "NYSDOH"},
    )
    assert batch.status == Batch.Status.PROCESSING, batch.failure
    return services.batch_run_inline(batch_id=batch.pk)


def test_sample_835_file_posts_to_the_cent(world, reader_wired):
    # given the three claims the sample pays
    claims = sample_claims(world.tenant)
    owner = world.actor(S.Role.OWNER)
    # when the 835 file is uploaded and processed
    batch = load_sample(owner)
    # then its three claim payments are matched and posted as billed
    assert (batch.success, batch.error) == (3, 0)
    assert set(RC.objects.values_list("match_state", flat=True)) == {"MATCHED_AUTO"}
    assert Remittance.objects.get().payment_amount == D("45.75")
    assert (amounts(claims["paid"])["status"], amounts(claims["paid"])["balance"]) == (
        "PAID",
        D("0"),
    )
    assert amounts(claims["denied"])["status"] == "DENIED"
    assert amounts(claims["partial"])["balance"] == D("22.75")
    denials = {(d.carc, d.amount) for d in Denial.objects.all()}
    assert denials == {("29", D("34.00")), ("251", D("22.75"))}
    assert Denial.objects.get(carc="251").rarcs == ["N206"]
    # and the same file again posts nothing
    again = load_sample(owner)
    assert (again.skipped, again.success) == (3, 0)
    assert amounts(claims["partial"])["paid"] == D("11.50")
