"""Batch progress is unknown until the total is (issue 10: "Queued work looks finished")."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from core import scopes as S
from core.actors import Actor
from ingestion import services
from ingestion.models import Batch


def _api(world) -> APIClient:
    api = APIClient()
    api.force_authenticate(world.users[S.Role.VIEWER])
    return api


def _screen(world) -> Client:
    client = Client()
    client.force_login(world.users[S.Role.VIEWER])
    return client


def _queued(world) -> Batch:
    """A batch just created: its file not read yet, so its total is not known."""
    return Batch.objects.create(tenant=world.tenant, kind="SERVICE_DELIVERY")


def test_queued_batch_reports_unknown_progress_in_the_api(facts):
    batch = _queued(facts)
    body = _api(facts).get(f"/api/batches/{batch.pk}").json()
    assert body["status"] == "PENDING"
    assert body["percent"] is None
    listed = _api(facts).get("/api/batches").json()["results"]
    assert [b["percent"] for b in listed if b["id"] == batch.pk] == [None]


def test_queued_batch_shows_an_indeterminate_bar_waiting_for_a_worker(facts):
    batch = _queued(facts)
    client = _screen(facts)
    for url in (
        f"/ingestion/batches/{batch.pk}/",
        f"/ingestion/batches/{batch.pk}/progress/",
        "/ingestion/",
    ):
        html = client.get(url).content.decode()
        # an indeterminate <progress> (no value), never a full bar or "0/0"
        bars = re.findall(r"<progress[^>]*>", html)
        assert bars and all("value=" not in bar for bar in bars), url
        assert "waiting for a worker" in html, url
        assert "0/0" not in html and "100%" not in html, url


def test_failed_batch_shows_no_progress_at_all(facts):
    client = Client()
    client.force_login(facts.users[S.Role.OPERATIONS])
    client.post(
        "/ingestion/",
        {"kind": "SERVICE_DELIVERY", "file": SimpleUploadedFile("bad.csv", b"nothing,useful\n")},
    )
    batch = Batch.objects.get(tenant=facts.tenant)
    assert batch.status == "FAILED"
    assert _api(facts).get(f"/api/batches/{batch.pk}").json()["percent"] is None
    for url in (f"/ingestion/batches/{batch.pk}/", "/ingestion/"):
        html = _screen(facts).get(url).content.decode()
        assert "<progress" not in html, url
        assert "0/0" not in html and "100%" not in html, url
        assert "waiting for a worker" not in html, url


def test_processing_batch_reports_its_percent(facts):
    system = Actor.system_for(facts.tenant)
    content = b"member_id,payer_code,service_date,service_code\n" + b"".join(
        f"M00{n},ACME,2025-01-1{n},99213\n".encode() for n in range(1, 5)
    )
    batch = services.batch_ingest_file(
        actor=system, kind="SERVICE_DELIVERY", filename="s.csv", content=content, enqueue=False
    )
    first, _ = services.batch_chunks(batch_id=batch.pk, size=1)[0]
    services.batch_process_chunk(batch_id=batch.pk, first_row=first, last_row=first)
    body = _api(facts).get(f"/api/batches/{batch.pk}").json()
    assert (body["status"], body["total"], body["processed"], body["percent"]) == (
        "PROCESSING",
        4,
        1,
        25,
    )
    html = _screen(facts).get(f"/ingestion/batches/{batch.pk}/").content.decode()
    assert '<progress max="100" value="25"' in html
    assert "waiting for a worker" not in html
