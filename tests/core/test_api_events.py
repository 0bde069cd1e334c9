"""GET /api/events: the tenant's event feed a partner catches up from, and the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import events as E
from core import scopes as S
from core.models import Event
from tests.core.event_types_fixture import OTHER, THING, catalogue  # noqa: F401 (fixture)
from tests.envelope import error_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]


def emit(tenant, type_=THING, n=1, *, at: datetime | None = None, **payload) -> list[Event]:
    out = []
    for i in range(n):
        ev = E.event_emit(
            tenant=tenant, type=type_, object_id=i + 1, payload={"thing_id": i + 1, **payload}
        )
        if at is not None:
            Event.objects.filter(pk=ev.pk).update(occurred_at=at)
            ev.refresh_from_db()
        out.append(ev)
    return out


def test_feed_lists_events_oldest_first_as_webhooks_send_them(world):
    emit(world.tenant, n=2, state="DONE")
    emit(world.tenant, OTHER)
    body = world.client(S.Role.VIEWER).get("/api/events").json()

    assert [e["sequence"] for e in body["results"]] == [1, 2, 3]
    first = body["results"][0]
    event = Event.objects.get(tenant=world.tenant, sequence=1)
    assert first == {
        "id": f"evt_{event.uid.hex}",
        "type": THING,
        "timestamp": E.iso(event.occurred_at),
        "sequence": 1,
        "tenant": "alpha",
        "object": {"type": "testing.Thing", "id": "1"},
        "data": {"thing_id": 1, "state": "DONE"},
    }
    assert first == E.event_envelope(event)
    assert [e["type"] for e in body["results"]] == [THING, THING, OTHER]


def test_feed_shows_only_the_callers_tenant(world):
    emit(world.tenant, n=2)
    emit(world.other_tenant, n=1, marker="beta")
    mine = world.client(S.Role.OWNER).get("/api/events").json()["results"]
    theirs = world.client("outsider").get("/api/events").json()["results"]
    assert [e["tenant"] for e in mine] == ["alpha", "alpha"]
    assert [(e["tenant"], e["sequence"], e["data"]["marker"]) for e in theirs] == [
        ("beta", 1, "beta")
    ]


def test_cursor_pages_walk_every_event_once_in_order(world):
    emit(world.tenant, n=7)
    client = world.client(S.Role.OWNER)
    seen, url = [], "/api/events?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [e["sequence"] for e in body["results"]]
        url = body["next"]
    assert seen == [1, 2, 3, 4, 5, 6, 7]


def test_after_sequence_catches_a_partner_up_from_its_last_event(world):
    emit(world.tenant, n=5)
    client = world.client(S.Role.OWNER)
    body = client.get("/api/events?after_sequence=3").json()
    assert [e["sequence"] for e in body["results"]] == [4, 5]
    # events committed later show up on the next catch-up, nothing earlier repeats
    emit(world.tenant, n=2)
    body = client.get("/api/events?after_sequence=5").json()
    assert [e["sequence"] for e in body["results"]] == [6, 7]
    assert client.get("/api/events?after_sequence=7").json()["results"] == []


def test_filter_by_one_type_or_a_comma_list(world):
    emit(world.tenant, THING, n=2)
    emit(world.tenant, OTHER, n=1)
    client = world.client(S.Role.OWNER)
    only_other = client.get(f"/api/events?type={OTHER}").json()["results"]
    assert [(e["sequence"], e["type"]) for e in only_other] == [(3, OTHER)]
    both = client.get(f"/api/events?type={THING},{OTHER}").json()["results"]
    assert [e["sequence"] for e in both] == [1, 2, 3]


def test_unknown_type_answers_400_naming_it(world):
    response = world.client(S.Role.OWNER).get(f"/api/events?type={THING},billing.nope")
    err = error_envelope(response, 400)
    assert err["code"] == "invalid"
    assert list(err["details"]) == ["type"]
    assert "billing.nope" in err["message"]
    error_envelope(world.client(S.Role.OWNER).get("/api/events?type="), 400)


def test_filter_by_time_since_inclusive_until_exclusive(world):
    emit(world.tenant, n=1, at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    emit(world.tenant, n=1, at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    emit(world.tenant, n=1, at=datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    client = world.client(S.Role.OWNER)

    def seqs(query):
        response = client.get("/api/events", query)
        assert response.status_code == 200, response.content
        return [e["sequence"] for e in response.json()["results"]]

    assert seqs({"since": "2026-03-02T08:00:00Z"}) == [2, 3]
    assert seqs({"until": "2026-03-02T08:00:00Z"}) == [1]
    assert seqs({"since": "2026-03-01T09:00:00+01:00", "until": "2026-03-03T00:00:00Z"}) == [1, 2]
    assert seqs({"since": "2026-03-02T08:00:00Z", "after_sequence": "2"}) == [3]
    # a range that ends before it starts is empty, not an error
    assert seqs({"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}) == []


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-02"}, "since"),
        ({"until": "2026-03-02T08:00:00"}, "until"),  # no zone: ambiguous
        ({"after_sequence": "-1"}, "after_sequence"),
        ({"after_sequence": "x"}, "after_sequence"),
        ({"cursor": "zzz"}, "cursor"),
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(world, query, field):
    err = error_envelope(world.client(S.Role.OWNER).get("/api/events", query), 400)
    assert field in err["details"]


def test_one_event_by_sequence_and_other_tenants_get_404(world):
    emit(world.tenant, n=2)
    emit(world.other_tenant, n=1)
    client = world.client(S.Role.VIEWER)
    body = client.get("/api/events/2").json()
    assert body == E.event_envelope(Event.objects.get(tenant=world.tenant, sequence=2))
    error_envelope(client.get("/api/events/9"), 404)
    # beta has a sequence 1 of its own; alpha's 2 does not exist for beta
    assert world.client("outsider").get("/api/events/1").json()["tenant"] == "beta"
    error_envelope(world.client("outsider").get("/api/events/2"), 404)


def test_catalogue_lists_every_type_with_its_sample(world):
    body = world.client(S.Role.VIEWER).get("/api/events/types").json()
    by_name = {t["name"]: t for t in body}
    assert [t["name"] for t in body] == E.event_type_names()
    assert by_name[THING] == {
        "name": THING,
        "description": "A test thing changed.",
        "object_type": "testing.Thing",
        "sample": {"thing_id": 1, "state": "DONE", "amount": "10.00"},
    }


def test_feed_needs_a_member_with_events_read(world, token_client):
    emit(world.tenant, n=1)
    error_envelope(world.client(None).get("/api/events"), 401)
    from core.services import api_token_create

    owner = world.actor(S.Role.OWNER)
    _, raw = api_token_create(actor=owner, name="no events", scopes=[S.BILLING_RUN_VIEW])
    err = error_envelope(token_client(raw).get("/api/events"), 403)
    assert "events.read" in err["message"]
    _, raw = api_token_create(actor=owner, name="events", scopes=[S.EVENTS_READ])
    assert [e["sequence"] for e in token_client(raw).get("/api/events").json()["results"]] == [1]
