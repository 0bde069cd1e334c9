"""`manage.py bench invoicing` runs end to end with tiny sizes (figures are never asserted)."""

import json

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_bench_invoicing_bills_every_due_request_once(db, capsys):
    # when the benchmark runs over 4 accounts and 90 charges
    call_command("bench", "invoicing", "--accounts", "4", "--charges", "90")
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    # then every request was processed into one regular bill, no errors
    assert figures["bench"] == "invoicing"
    assert (figures["accounts"], figures["charges"]) == (4, 90)
    assert figures["processed"] == figures["bills"] == figures["requests_processed"] == 4
    assert figures["errors"] == 0
    # and every charge up to the cutoff was billed once (2 of 90 are dated after it), one audit
    # entry per request
    assert figures["charges_billed"] == figures["charges_expected"] == figures["lines"] == 88
    assert figures["audit_entries"] == 4
    for key in ("setup_seconds", "floor_seconds", "process_seconds", "peak_rss_mb"):
        assert figures[key] >= 0
