"""Ingestion screens (SPEC 8): upload, live batch list, detail with correction and retry."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core import scopes as S
from core.actors import Actor
from ingestion import services
from ingestion.models import Batch, BatchRecord

HEADER = "member_id,payer_code,service_date,service_code"


def _client(world, role: str) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _html(response) -> str:
    return response.content.decode()


def _batch(world, content: bytes, *, run: bool = True) -> Batch:
    """A batch of tenant A from a service-delivery file; processed at once unless run=False."""
    system = Actor.system_for(world.tenant)
    batch = services.batch_ingest_file(
        actor=system, kind="SERVICE_DELIVERY", filename="svc.csv", content=content, enqueue=False
    )
    return services.batch_run_inline(batch_id=batch.pk) if run else batch


def _with_error(world) -> Batch:
    """Row 2 loads; row 3 names an unknown payer."""
    return _batch(world, _csv("M001,ACME,2025-01-15,99213", "M002,NOPE,2025-01-16,99213"))


def _counter(html: str, name: str) -> int:
    match = re.search(rf'<dd id="c-{name}">(\d+)</dd>', html)
    assert match, f"counter {name} not shown"
    return int(match.group(1))


# --- list and upload ----------------------------------------------------------------------------


def test_list_shows_upload_form_only_to_updaters(facts):
    # when OPERATIONS (ingestion.update) and VIEWER (read only) open the list
    ops = _client(facts, S.Role.OPERATIONS).get("/ingestion/")
    viewer = _client(facts, S.Role.VIEWER).get("/ingestion/")
    # then both see it; only OPERATIONS gets the upload form
    assert ops.status_code == viewer.status_code == 200
    assert 'id="upload-form"' in _html(ops)
    assert 'id="upload-form"' not in _html(viewer)
    assert "No batches yet." in _html(viewer)


def test_viewer_cannot_upload(facts):
    # when a VIEWER posts a file anyway / then 403 and no batch
    response = _client(facts, S.Role.VIEWER).post(
        "/ingestion/",
        {"kind": "SERVICE_DELIVERY", "file": SimpleUploadedFile("a.csv", _csv("M001,ACME,x,y"))},
    )
    assert response.status_code == 403
    assert "ingestion.update" in _html(response)
    assert not Batch.objects.exists()


def test_upload_redirects_to_batch_with_counters(facts, django_capture_on_commit_callbacks):
    # given an operator and a file with one good row and one unknown payer
    client = _client(facts, S.Role.OPERATIONS)
    upload = SimpleUploadedFile(
        "jan.csv", _csv("M001,ACME,2025-01-15,99213", "M002,NOPE,2025-01-16,99213")
    )
    # when it is uploaded through the form (processing runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/ingestion/", {"kind": "SERVICE_DELIVERY", "file": upload})
    # then the browser goes to the batch page, which shows the counters
    batch = Batch.objects.get(tenant=facts.tenant)
    assert response.status_code == 302
    assert response["Location"] == f"/ingestion/batches/{batch.pk}/"
    page = client.get(response["Location"])
    html = _html(page)
    assert "jan.csv" in html
    assert f"Batch {batch.pk} created with 2 records." in html
    assert (_counter(html, "total"), _counter(html, "success"), _counter(html, "error")) == (
        2,
        1,
        1,
    )
    assert _counter(html, "pending") == 0
    assert "Completed with exceptions" in html
    # and the list shows it too
    listing = _html(client.get("/ingestion/"))
    assert f'href="/ingestion/batches/{batch.pk}/"' in listing
    assert "jan.csv" in listing


def test_upload_with_key_fields_and_payer(facts, django_capture_on_commit_callbacks):
    client = _client(facts, S.Role.OPERATIONS)
    upload = SimpleUploadedFile("k.csv", _csv("M001,ACME,2025-01-15,99213"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/ingestion/",
            {"kind": "SERVICE_DELIVERY", "file": upload, "key_fields": "ServiceDate; member_id"},
        )
    batch = Batch.objects.get(tenant=facts.tenant)
    assert batch.idempotency_key_fields == ["service_date", "member_id"]
    assert batch.status == "COMPLETED"


def test_upload_too_large_is_refused_with_a_message(facts, settings):
    settings.INGESTION_MAX_UPLOAD_BYTES = 10
    client = _client(facts, S.Role.OPERATIONS)
    response = client.post(
        "/ingestion/",
        {"kind": "SERVICE_DELIVERY", "file": SimpleUploadedFile("big.csv", _csv("M001,A,B,C"))},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/ingestion/"
    assert "bytes allowed per upload" in _html(response)
    assert not Batch.objects.exists()


def test_upload_unknown_kind_is_refused_with_a_message(facts):
    client = _client(facts, S.Role.OPERATIONS)
    response = client.post(
        "/ingestion/",
        {"kind": "PIZZA", "file": SimpleUploadedFile("p.csv", _csv("M001,A,B,C"))},
        follow=True,
    )
    assert "kind: &#x27;PIZZA&#x27; cannot be loaded" in _html(response)
    assert not Batch.objects.exists()


# --- live refresh -------------------------------------------------------------------------------


def test_rows_partial_polls_while_a_batch_runs(facts):
    # given a batch still PROCESSING (its records are stored, no worker has run yet)
    batch = _batch(facts, _csv("M001,ACME,2025-01-15,99213"), run=False)
    assert batch.status == "PROCESSING"
    client = _client(facts, S.Role.VIEWER)
    # then the rows partial asks to be polled
    html = _html(client.get("/ingestion/rows/"))
    assert 'hx-trigger="every 2s"' in html
    assert 'hx-get="/ingestion/rows/' in html
    # when the batch is finished / then polling stops
    services.batch_run_inline(batch_id=batch.pk)
    html = _html(client.get("/ingestion/rows/"))
    assert "hx-trigger" not in html
    assert f'href="/ingestion/batches/{batch.pk}/"' in html


def test_rows_partial_does_not_poll_without_batches(facts):
    html = _html(_client(facts, S.Role.VIEWER).get("/ingestion/rows/"))
    assert "hx-trigger" not in html
    assert "No batches yet." in html


def test_progress_polls_while_active_and_refreshes_when_done(facts):
    batch = _batch(facts, _csv("M001,ACME,2025-01-15,99213"), run=False)
    client = _client(facts, S.Role.VIEWER)
    url = f"/ingestion/batches/{batch.pk}/progress/"
    running = client.get(url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in _html(running)
    assert "HX-Refresh" not in running
    services.batch_run_inline(batch_id=batch.pk)
    done = client.get(url, headers={"HX-Request": "true"})
    assert "hx-trigger" not in _html(done)
    assert done["HX-Refresh"] == "true"
    assert _counter(_html(done), "success") == 1


# --- detail -------------------------------------------------------------------------------------


def test_detail_defaults_to_error_tab_with_error_text(facts):
    # given a batch with one loaded row and one error
    batch = _with_error(facts)
    # when its page is opened without a filter
    html = _html(_client(facts, S.Role.VIEWER).get(f"/ingestion/batches/{batch.pk}/"))
    # then the ERROR tab is current and only the error row is listed, with its text
    assert re.search(r'href="\?status=ERROR"\s+aria-current="page"', html)
    assert 'id="record-3"' in html
    assert 'id="record-2"' not in html
    assert "row 3: payer_code: expected a known payer, found &#x27;NOPE&#x27;" in html
    # and "All" still lists every record
    all_html = _html(_client(facts, S.Role.VIEWER).get(f"/ingestion/batches/{batch.pk}/?status="))
    assert 'id="record-2"' in all_html and 'id="record-3"' in all_html


def test_detail_without_errors_shows_all(facts):
    batch = _batch(facts, _csv("M001,ACME,2025-01-15,99213"))
    html = _html(_client(facts, S.Role.VIEWER).get(f"/ingestion/batches/{batch.pk}/"))
    assert re.search(r'href="\?status="\s+aria-current="page"', html)
    assert 'id="record-2"' in html


def test_correction_with_htmx_returns_the_saved_row(facts):
    # given a batch whose row 3 names an unknown payer
    batch = _with_error(facts)
    client = _client(facts, S.Role.OPERATIONS)
    # when the payer is corrected inline (HTMX)
    response = client.post(
        f"/ingestion/batches/{batch.pk}/records/3/",
        {"member_id": "M002", "payer_code": "ACME", "service_date": "2025-01-16"},
        headers={"HX-Request": "true"},
    )
    # then only the row comes back, marked saved, and the record holds the new value
    assert response.status_code == 200
    html = _html(response)
    assert html.lstrip().startswith('<tr id="record-3"')
    assert "Saved" in html
    assert "corrected (payer_code)" in html
    assert "<html" not in html
    record = BatchRecord.objects.get(batch=batch, row_number=3)
    assert record.data["payer_code"] == "ACME"
    assert record.status == "ERROR"


def test_correction_of_a_loaded_row_shows_the_refusal(facts):
    batch = _with_error(facts)
    response = _client(facts, S.Role.OPERATIONS).post(
        f"/ingestion/batches/{batch.pk}/records/2/",
        {"payer_code": "ACME"},
        headers={"HX-Request": "true"},
    )
    html = _html(response)
    assert "only records in ERROR can be corrected" in html
    assert "Saved" not in html


def test_correction_without_htmx_redirects(facts):
    batch = _with_error(facts)
    response = _client(facts, S.Role.OPERATIONS).post(
        f"/ingestion/batches/{batch.pk}/records/3/", {"payer_code": "ACME"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/ingestion/batches/{batch.pk}/"
    assert BatchRecord.objects.get(batch=batch, row_number=3).data["payer_code"] == "ACME"


def test_viewer_cannot_correct(facts):
    batch = _with_error(facts)
    response = _client(facts, S.Role.VIEWER).post(
        f"/ingestion/batches/{batch.pk}/records/3/", {"payer_code": "ACME"}
    )
    assert response.status_code == 403
    assert BatchRecord.objects.get(batch=batch, row_number=3).data["payer_code"] == "NOPE"


def test_retry_button_only_with_errors_and_not_active(facts):
    ops = _client(facts, S.Role.OPERATIONS)
    # a finished batch with errors: offered to OPERATIONS, not to VIEWER
    with_errors = _with_error(facts)
    assert 'id="retry"' in _html(ops.get(f"/ingestion/batches/{with_errors.pk}/"))
    viewer_html = _html(_client(facts, S.Role.VIEWER).get(f"/ingestion/batches/{with_errors.pk}/"))
    assert 'id="retry"' not in viewer_html
    assert 'class="correct"' not in viewer_html
    # a clean batch: no retry
    clean = _batch(facts, _csv("M003,ACME,2025-01-15,99213"))
    assert clean.status == "COMPLETED"
    assert 'id="retry"' not in _html(ops.get(f"/ingestion/batches/{clean.pk}/"))
    # a running batch that already has a malformed row: no retry, no correction yet
    running = _batch(facts, _csv("M001,ACME,2025-02-01,99213", "M002,ACME"), run=False)
    assert running.status == "PROCESSING" and running.error == 1
    html = _html(ops.get(f"/ingestion/batches/{running.pk}/"))
    assert 'id="retry"' not in html
    assert 'class="correct"' not in html


def test_retry_through_the_screen_loads_the_corrected_row(
    facts, django_capture_on_commit_callbacks
):
    # given a corrected error row
    batch = _with_error(facts)
    client = _client(facts, S.Role.OPERATIONS)
    client.post(f"/ingestion/batches/{batch.pk}/records/3/", {"payer_code": "ACME"})
    # when Retry is pressed
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/ingestion/batches/{batch.pk}/retry/")
    # then the batch page shows it COMPLETED without errors
    assert response.status_code == 302
    html = _html(client.get(response["Location"]))
    assert "Completed" in html and "Completed with errors" not in html
    assert (_counter(html, "error"), _counter(html, "success")) == (0, 2)
    assert 'id="retry"' not in html


def test_retry_of_a_clean_batch_shows_a_message(facts):
    batch = _batch(facts, _csv("M001,ACME,2025-01-15,99213"))
    response = _client(facts, S.Role.OPERATIONS).post(
        f"/ingestion/batches/{batch.pk}/retry/", follow=True
    )
    assert "Cannot retry batch" in _html(response)
    assert Batch.objects.get(pk=batch.pk).status == "COMPLETED"


def test_failed_batch_page_shows_the_failure(facts):
    # given a file without the service_date and service_code columns
    batch = _batch(facts, _csv("M001,ACME", header="member_id,payer_code"), run=False)
    assert batch.status == "FAILED"
    # then its page explains what is wrong
    html = _html(_client(facts, S.Role.VIEWER).get(f"/ingestion/batches/{batch.pk}/"))
    assert "The file could not be processed:" in html
    assert "missing required column(s): service_date, service_code" in html
    assert 'id="retry"' not in html


def test_failed_upload_through_the_form_says_so(facts):
    client = _client(facts, S.Role.OPERATIONS)
    response = client.post(
        "/ingestion/",
        {"kind": "SERVICE_DELIVERY", "file": SimpleUploadedFile("bad.csv", b"member_id\nM1\n")},
        follow=True,
    )
    html = _html(response)
    batch = Batch.objects.get(tenant=facts.tenant)
    assert batch.status == "FAILED"
    assert "The file could not be processed:</strong> missing required column(s)" in html
    assert html.count("missing required column(s)") == 1  # said once, not twice


def test_failed_upload_of_an_empty_file_says_it_once(facts):
    # given an operator uploading an empty file
    client = _client(facts, S.Role.OPERATIONS)
    response = client.post(
        "/ingestion/",
        {"kind": "SERVICE_DELIVERY", "file": SimpleUploadedFile("empty.csv", b"")},
        follow=True,
    )
    # then the batch page explains it once, with nothing loaded and no progress bar
    html = _html(response)
    assert Batch.objects.get(tenant=facts.tenant).status == "FAILED"
    assert html.count("the file is empty") == 1
    assert "Nothing was loaded; fix the file and upload it again." in html
    assert "<progress" not in html


def test_batch_badges_use_the_shared_wording(facts):
    # given a batch that completed with errors
    batch = _with_error(facts)
    assert batch.status == "COMPLETED_WITH_ERRORS"
    client = _client(facts, S.Role.VIEWER)
    # then the list and the batch page say "Completed with exceptions"
    for url in ("/ingestion/", f"/ingestion/batches/{batch.pk}/"):
        html = _html(client.get(url))
        assert 'data-status="COMPLETED_WITH_ERRORS">Completed with exceptions</span>' in html
        assert "Completed with errors" not in html
    # and the filter offers the same wording for the code
    html = _html(client.get("/ingestion/"))
    assert '<option value="COMPLETED_WITH_ERRORS" >Completed with exceptions</option>' in html


def test_another_tenants_batch_page_is_404(facts):
    batch = _with_error(facts)
    beta = Client()
    beta.force_login(facts.outsider)
    assert beta.get(f"/ingestion/batches/{batch.pk}/").status_code == 404
    assert beta.get(f"/ingestion/batches/{batch.pk}/progress/").status_code == 404
    assert beta.post(f"/ingestion/batches/{batch.pk}/retry/").status_code == 404
    assert (
        beta.post(f"/ingestion/batches/{batch.pk}/records/3/", {"payer_code": "X"}).status_code
        == 404
    )
    assert "svc.csv" not in _html(beta.get("/ingestion/"))
    assert Batch.objects.get(pk=batch.pk).status == "COMPLETED_WITH_ERRORS"


def test_nav_shows_ingestion_to_a_viewer(facts):
    html = _html(_client(facts, S.Role.VIEWER).get("/"))
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    assert 'href="/ingestion/"' in nav
    assert ">Ingestion</a>" in nav
