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


def test_bench_prepaid_with_pricing_splits_and_ties_out():
    figures = BENCHES["prepaid"].run(services=600, per_account=10, pricing=True)
    assert figures["status"] == "COMPLETED" and figures["pricing"] is True
    # post-rated [01-01, 03-16): DATA split at the VAT change (02-01) and its rate change (02-15),
    # VOICE at the VAT change and its discount's end (03-01): 3 items each x 200; SMS is pre-rated
    # from 03-16 (no change inside): 1 item x 200; and 60 usage items
    assert figures["rated_items"] == 200 * 3 + 200 * 3 + 200 + 60
    assert figures["balance_equals_ledger"] is True
    assert (figures["invalid"], figures["errors"]) == (0, 0)
