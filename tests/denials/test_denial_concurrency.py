"""Two people moving one denial at the same moment (PostgreSQL): the money moves once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import scopes as S
from core.exceptions import TransitionRefused
from denials.models import Denial, PaymentApplication
from denials.services.denial_work import denial_reopen, denial_write_off
from tests.concurrency import race
from tests.denials.flow_builders import posted
from tests.denials.test_posting import amounts


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_write_offs_at_once_write_off_once(world):
    sample = posted(world)
    denial, claim = sample["denied"], sample["claims"]["denied"]
    roles = [S.Role.OWNER, S.Role.OPERATIONS]
    results = race(
        2, lambda i: denial_write_off(actor=world.actor(roles[i]), denial_id=denial.pk, reason="r")
    )
    assert sorted(type(r).__name__ for r in results) == ["Denial", "TransitionRefused"]
    assert PaymentApplication.objects.filter(kind="WRITEOFF").count() == 1
    assert amounts(claim)["balance"] == Decimal("0.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reopens_at_once_reverse_the_write_off_once(world):
    sample = posted(world)
    denial, claim = sample["denied"], sample["claims"]["denied"]
    denial_write_off(actor=world.actor(), denial_id=denial.pk, reason="r")
    roles = [S.Role.OWNER, S.Role.ADMIN]
    results = race(
        2, lambda i: denial_reopen(actor=world.actor(roles[i]), denial_id=denial.pk, reason="r")
    )
    assert sum(isinstance(r, Denial) for r in results) == 1
    assert sum(isinstance(r, TransitionRefused) for r in results) == 1
    assert PaymentApplication.objects.filter(kind="REVERSAL").count() == 1
    assert amounts(claim)["balance"] == Decimal("34.00")
