"""Readable values: money, labels, key/value lists, the tenant's time zone; CSV list exports."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone

from core.labels import label_for, register_labels
from core.listexport import csv_response


def render(text: str, **context) -> str:
    return Template("{% load present %}" + text).render(Context(context))


def test_money_has_currency_and_thousands_separators():
    assert render("{{ v|money }}", v=Decimal("1234567.5")) == "$1,234,567.50"
    assert render("{{ v|money }}", v=Decimal("-412.5")) == "-$412.50"
    assert render("{{ v|money }}", v=None) == ""


def test_number_groups_thousands():
    assert render("{{ v|number }}", v=83180) == "83,180"


def test_labels_for_codes_registered_and_fallback():
    register_labels({"NOT_BILLED_NO_SERVICE": "Not billed: no service"})
    assert label_for("NOT_BILLED_NO_SERVICE") == "Not billed: no service"
    assert label_for("COMPLETED_WITH_EXCEPTIONS") == "Completed with exceptions"
    assert label_for("COMPLETED_WITH_ERRORS") == "Completed with exceptions"
    assert label_for("RUN_CLOSED") == "Run closed"
    assert render("{{ c|label }}", c="RUN_CLOSED") == "Run closed"


def test_kv_renders_nested_structures_escaped():
    html = render(
        "{{ v|kv }}",
        v={
            "member": "<b>x</b>",
            "days": 31,
            "codes": ["99213", "99214"],
            "tier": {"rate": "412.50"},
        },
    )
    assert '<dl class="kv">' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    assert "<dd>99213, 99214</dd>" in html
    assert "<dt>Rate</dt><dd>412.50</dd>" in html
    assert "{" not in html and "'" not in html


@pytest.mark.parametrize(
    "zone,expected", [("UTC", "2026-12-03 22:15 UTC"), ("America/New_York", "2026-12-03 17:15 EST")]
)
def test_when_shows_the_active_zone_to_the_minute(zone, expected):
    moment = datetime(2026, 12, 3, 22, 15, 42, 123456, tzinfo=UTC)
    with timezone.override(zone):
        assert render("{{ t|when }}", t=moment) == expected


def test_csv_response_streams_header_and_rows():
    response = csv_response("runs.csv", ["id", "amount"], iter([(1, Decimal("2.50")), (2, None)]))
    assert response["Content-Disposition"] == 'attachment; filename="runs.csv"'
    assert b"".join(response.streaming_content).decode() == "id,amount\n1,2.50\n2,\n"
