"""Who read what, ingestion: a batch's records hold member ids, names and birth dates, so listing
them (screen or API) writes one PHI view entry naming the batch, without any of that data."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from core import scopes as S
from core.models import AuditEntry
from ingestion.models import Batch

ROW = {"MemberId": "M77001", "FirstName": "Zelda", "LastName": "Quist", "BirthDate": "1961-03-04"}


@pytest.fixture
def batch(world, django_capture_on_commit_callbacks) -> Batch:
    body = {"kind": "ELIGIBILITY", "records": [{"rowNumber": 1, "data": ROW}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client(S.Role.OPERATIONS).post("/api/batches", body, format="json")
    assert response.status_code == 201, response.content
    return Batch.objects.get(pk=response.json()["id"])


def _phi_entries(world):
    return AuditEntry.objects.filter(tenant=world.tenant, action__startswith="phi.")


def _screen(world) -> Client:
    c = Client()
    c.force_login(world.users[S.Role.VIEWER])
    return c


@pytest.mark.parametrize("where", ["screen", "api"])
def test_listing_a_batchs_records_is_one_phi_view_of_the_batch(world, batch, where):
    if where == "screen":
        response = _screen(world).get(f"/ingestion/batches/{batch.pk}/?status=")
    else:
        response = world.client(S.Role.VIEWER).get(f"/api/batches/{batch.pk}/records")
    assert response.status_code == 200
    entries = list(_phi_entries(world))
    assert [(e.action, e.object_type, e.object_id) for e in entries] == [
        ("phi.view", "ingestion.Batch", str(batch.pk))
    ]
    assert entries[0].actor_label == "alpha-viewer"
    text = json.dumps(entries[0].payload)
    assert not any(value in text for value in ROW.values())


def test_another_tenants_batch_is_refused_and_not_recorded(world, batch):
    response = world.client("outsider").get(f"/api/batches/{batch.pk}/records")
    assert response.status_code == 404
    assert not _phi_entries(world).exists()
