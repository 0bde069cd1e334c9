"""The prepaid-run benchmark runs end to end and its figures tie out (`pytest -m bench`).

The timed figure is `manage.py bench prepaid --services 100000` on PostgreSQL (docs/benchmarks.md);
this small run checks the bench itself: every service rated, the money in the ledger.
"""

from __future__ import annotations

import pytest

from core.bench import BENCHES

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("per_transaction", [1, 20])
def test_bench_prepaid_small_run_ties_out(per_transaction):
    figures = BENCHES["prepaid"].run(
        services=600, per_account=10, accounts_per_transaction=per_transaction
    )
    assert figures["status"] == "COMPLETED"
    assert figures["accounts"] == 60
    # 600 service items, and one usage item for every tenth service
    assert figures["rated_items"] == 660
    assert figures["balance_equals_ledger"] is True
    assert (figures["invalid"], figures["errors"]) == (0, 0)
