"""Two runs of the same correction at once build one replacement (PostgreSQL)."""

from __future__ import annotations

import pytest

from denials.models import Charge, Claim, CorrectionAttempt
from denials.services.corrections import correction_run
from tests.concurrency import race
from tests.denials.corr_builders import denied


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_on_the_same_facts_build_one_replacement(world):
    # given a denial whose authorization is now on file
    d = denied(world.tenant, carc="197")
    Charge.objects.filter(claim_line__claim=d.claim).update(authorization="AUTH-RACE")
    actor = world.actor()

    # when three runs start at the same moment
    results = race(3, lambda i: correction_run(actor=actor, denial_id=d.pk))

    # then one ran (the denial row lock), the others got its stored attempt back
    attempts = [r for r in results if isinstance(r, CorrectionAttempt)]
    assert len(attempts) == 3, results
    assert sorted(a.reused for a in attempts) == [False, True, True]
    assert len({a.pk for a in attempts}) == 1
    assert CorrectionAttempt.objects.filter(denial=d).count() == 1
    assert Claim.objects.filter(original=d.claim).count() == 1
