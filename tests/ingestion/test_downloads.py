"""Upload guidance with template CSVs, and the batch list's filters and CSV export (issue 10)."""

from __future__ import annotations

import csv
import io

from django.test import Client

from core import scopes as S
from core.actors import Actor
from ingestion import services
from ingestion.models import Batch
from ingestion.registry import get_handler

HEADER = "member_id,payer_code,service_date,service_code"


def _client(world, role: str = S.Role.VIEWER) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _batch(world, filename: str, rows: list[str]) -> Batch:
    batch = services.batch_ingest_file(
        actor=Actor.system_for(world.tenant),
        kind="SERVICE_DELIVERY",
        filename=filename,
        content=("\n".join([HEADER, *rows]) + "\n").encode(),
        enqueue=False,
    )
    return services.batch_run_inline(batch_id=batch.pk) if batch.total else batch


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


# --- guidance and templates -------------------------------------------------------------------


def test_ingestion_page_shows_each_kinds_columns_example_and_template(facts):
    html = _client(facts, S.Role.OPERATIONS).get("/ingestion/").content.decode()
    # then the eligibility guide lists its columns, required or optional, with an example row
    guide = html[html.index('id="guide-eligibility"') :]
    guide = guide[: guide.index("</details>")]
    assert "<td><code>member_id</code></td><td>required</td><td><code>M000123</code></td>" in guide
    assert "<td><code>termination_date</code></td><td>optional (may be empty)</td>" in guide
    assert "<td><code>benefit_suffix</code></td><td>optional (may be empty)</td>" in guide
    assert 'href="/ingestion/templates/eligibility.csv"' in guide
    # and every registered kind has a guide and a template link
    for kind in ("eligibility", "enrollment", "service_delivery"):
        assert f'id="guide-{kind}"' in html
        assert f'href="/ingestion/templates/{kind}.csv"' in html


def test_template_csv_has_the_kinds_columns_and_an_example_row(facts):
    response = _client(facts).get("/ingestion/templates/service_delivery.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="service_delivery-template.csv"' in response["Content-Disposition"]
    header, example = _csv(response)
    assert header == list(get_handler("SERVICE_DELIVERY").columns)
    assert example == ["M000123", "NORTHWIND", "2026-11-12", "99213"]


def test_a_filled_in_template_uploads_cleanly(facts):
    # given the eligibility template with its example row (payer renamed to the tenant's)
    response = _client(facts).get("/ingestion/templates/eligibility.csv")
    text = response.content.decode().replace("NORTHWIND", "ACME")
    # when it is uploaded / then its one row loads
    batch = services.batch_ingest_file(
        actor=Actor.system_for(facts.tenant),
        kind="ELIGIBILITY",
        filename="template.csv",
        content=text.encode(),
        enqueue=False,
    )
    batch = services.batch_run_inline(batch_id=batch.pk)
    assert (batch.status, batch.total, batch.success) == ("COMPLETED", 1, 1)


def test_template_of_an_unknown_kind_is_404(facts):
    response = _client(facts).get("/ingestion/templates/nonsense.csv")
    assert response.status_code == 404


# --- filters and export -----------------------------------------------------------------------


def test_export_streams_what_the_filtered_list_shows(facts):
    # given a clean batch and one with an error
    clean = _batch(facts, "clean.csv", ["M001,ACME,2025-01-15,99213"])
    faulty = _batch(facts, "faulty.csv", ["M002,ACME,2025-01-16,99213", "M003,NOPE,2025-01-16,1"])
    client = _client(facts)

    # when the list is filtered on COMPLETED_WITH_ERRORS
    html = client.get("/ingestion/?status=completed_with_errors").content.decode()
    # then it shows only the faulty batch, keeps the filter and links an export of the same
    assert "faulty.csv" in html and "clean.csv" not in html
    assert '<option value="COMPLETED_WITH_ERRORS" selected>' in html
    assert 'href="/ingestion/export.csv?status=COMPLETED_WITH_ERRORS"' in html
    assert '<form method="get" class="filters"' in html

    # and the export (streamed) has the same rows, with codes rather than labels
    response = client.get("/ingestion/export.csv?status=COMPLETED_WITH_ERRORS")
    assert response.status_code == 200 and response.streaming
    assert 'filename="batches.csv"' in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header[:6] == ["id", "kind", "format", "filename", "status", "total"]
    assert [r[header.index("id")] for r in rows] == [str(faulty.pk)]
    row = dict(zip(header, rows[0], strict=True))
    assert (row["status"], row["total"], row["success"], row["error"]) == (
        "COMPLETED_WITH_ERRORS",
        "2",
        "1",
        "1",
    )
    assert (row["updated"], row["skipped"], row["percent"]) == ("0", "0", "100")

    # and without a filter both batches are exported, newest first
    _, *rows = _csv(client.get("/ingestion/export.csv"))
    assert [r[0] for r in rows] == [str(faulty.pk), str(clean.pk)]


def test_export_leaves_unknown_totals_empty(facts):
    queued = Batch.objects.create(tenant=facts.tenant, kind="SERVICE_DELIVERY")
    header, *rows = _csv(_client(facts).get("/ingestion/export.csv"))
    row = dict(zip(header, rows[0], strict=True))
    assert row["id"] == str(queued.pk)
    assert (row["status"], row["total"], row["pending"], row["percent"]) == ("PENDING", "", "", "")


def test_unknown_filter_value_is_named_beside_its_field(facts):
    _batch(facts, "clean.csv", ["M001,ACME,2025-01-15,99213"])
    html = _client(facts).get("/ingestion/?status=DONE&kind=SERVICE_DELIVERY").content.decode()
    assert 'id="status-error"' in html
    assert "status: expected one of PENDING, PROCESSING, COMPLETED" in html
    # the other filter is kept and applied
    assert '<option value="SERVICE_DELIVERY" selected>' in html
    assert "clean.csv" in html
