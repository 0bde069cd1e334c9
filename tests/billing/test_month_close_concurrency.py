"""Races (PostgreSQL): a close and a regeneration of the same payer's month at the same moment
never both succeed (a closed month with a regeneration running would be superseded)."""

from __future__ import annotations

import pytest

from billing.models import BillingRun, MonthClose
from billing.services.closes import month_close
from billing.services.runs import billing_run_regenerate
from core import scopes as S
from core.audit import verify_chain
from core.exceptions import Conflict
from tests.billing.run_builders import assertion, member, month, payer, run_month
from tests.concurrency import race

SEP = month(2026, 9)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_close_and_regeneration_at_once_one_wins(world, attempt):
    # given September billed for ACME
    owner = world.actor(S.Role.OWNER)
    p = payer(owner, "ACME")
    assertion(p, member(world.tenant, "M001"))
    sep = run_month(owner, SEP, ["ACME"])
    manager = world.actor(S.Role.BILLING_MANAGER)

    # when one person closes September while another regenerates it
    def work(i: int):
        if i == 0:
            return month_close(actor=manager, payer_code="ACME", month=SEP)
        return billing_run_regenerate(actor=owner, run_id=sep.pk, reason="late", enqueue=False)

    results = race(2, work)

    # then exactly one succeeded, and the other was refused with a Conflict
    wins = [r for r in results if isinstance(r, MonthClose | BillingRun)]
    refusals = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(refusals) == 1, results
    closed = MonthClose.objects.filter(status="CLOSED").exists()
    queued = BillingRun.objects.filter(month=SEP, status="QUEUED").exists()
    assert closed != queued
    assert verify_chain(world.tenant).ok
