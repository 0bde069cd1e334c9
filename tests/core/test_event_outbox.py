"""The outbox (issue 19): an event exists exactly when its change committed, numbered in order.

A test type is registered against a test audit action, so these check the mechanism in core
(audit hook, direct emits, sequence numbers, the relay cursor) apart from any app's catalogue.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from core import events as E
from core.audit import audit_record, audit_record_many
from core.models import AuditChainHead, Event, EventRelayCursor
from core.outbox import events_relay
from tests.fixtures import make_tenant

pytestmark = pytest.mark.django_db

ACTION = "TEST_THING_DONE"
TYPE = "test.thing.done"


@pytest.fixture
def test_type():
    seen = []

    def payload(ctx: E.EventContext):
        if ctx.audit_payload.get("skip"):
            return None
        return {"thing_id": ctx.object_id, "amount": Decimal("12.50"), "to": "DONE"}

    E.event_types_register(
        "tests",
        [
            E.EventType(
                name=TYPE,
                description="A thing was done (tests only).",
                object_type="tests.Thing",
                sample={"thing_id": "1", "amount": "12.50", "to": "DONE"},
                actions=(ACTION,),
                payload=payload,
            )
        ],
    )
    yield seen
    E._TYPES.pop(TYPE, None)
    E._BY_ACTION.pop(ACTION, None)


class Boom(Exception):
    pass


def test_an_audited_catalogued_action_writes_its_event_in_the_same_transaction(world, test_type):
    entry = audit_record(
        tenant=world.tenant, actor=None, action=ACTION, object_type="tests.Thing", object_id=7
    )
    event = Event.objects.get(tenant=world.tenant, type=TYPE)
    assert event.object_type == "tests.Thing" and event.object_id == "7"
    assert event.payload == {"thing_id": "7", "amount": "12.50", "to": "DONE"}
    assert event.audit_seq == entry.seq
    assert event.sequence == AuditChainHead.objects.get(tenant=world.tenant).event_seq


def test_a_rolled_back_change_leaves_no_event(world, test_type):
    with pytest.raises(Boom), transaction.atomic():
        audit_record(tenant=world.tenant, actor=None, action=ACTION, object_id=1)
        E.event_emit(tenant=world.tenant, type=TYPE, object_id=2, payload={"n": 1})
        raise Boom
    assert not Event.objects.filter(tenant=world.tenant).exists()
    # and the sequence did not move: the next committed event is number 1
    audit_record(tenant=world.tenant, actor=None, action=ACTION, object_id=3)
    assert list(Event.objects.values_list("sequence", flat=True)) == [1]


def test_actions_outside_the_catalogue_write_no_event(world, test_type):
    audit_record(tenant=world.tenant, actor=None, action="SOMETHING_ELSE", object_id=1)
    audit_record(tenant=world.tenant, actor=None, action=ACTION, object_id=1, payload={"skip": 1})
    assert not Event.objects.exists()


def test_sequences_count_up_per_tenant_across_single_bulk_and_direct_writes(world, test_type):
    other = make_tenant("other-outbox")
    audit_record(tenant=world.tenant, actor=None, action=ACTION, object_id=1)
    audit_record_many(
        tenant=world.tenant,
        actor=None,
        entries=[{"action": ACTION, "object_type": "t", "object_id": i} for i in (2, 3, 4)],
    )
    E.event_emit_many(tenant=world.tenant, type=TYPE, items=[{"object_id": 5, "payload": {"n": 5}}])
    audit_record(tenant=other, actor=None, action=ACTION, object_id=99)
    mine = list(Event.objects.filter(tenant=world.tenant).values_list("sequence", "object_id"))
    assert mine == [(1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5")]
    assert list(Event.objects.filter(tenant=other).values_list("sequence", flat=True)) == [1]


def test_a_payload_with_a_phi_key_is_refused_and_nothing_is_written(world, test_type):
    with pytest.raises(E.PayloadError, match="member_id"):
        E.event_emit(tenant=world.tenant, type=TYPE, payload={"member_id": "M-1"})
    with pytest.raises(E.PayloadError, match="birth_date"):
        E.payload_check({"rows": [{"birth_date": "1970-01-01"}]})
    assert not Event.objects.exists()


def test_an_uncatalogued_type_cannot_be_emitted(world):
    with pytest.raises(ValueError, match="not a catalogued event type"):
        E.event_emit(tenant=world.tenant, type="no.such.type", payload={})


def test_the_envelope_carries_id_type_sequence_object_and_data(world, test_type):
    E.event_emit(tenant=world.tenant, type=TYPE, object_id=4, payload={"n": 1})
    event = Event.objects.get()
    body = E.event_envelope(event)
    assert body["id"] == f"evt_{event.uid.hex}"
    assert body["type"] == TYPE and body["sequence"] == 1
    assert body["tenant"] == world.tenant.slug
    assert body["object"] == {"type": "tests.Thing", "id": "4"}
    assert body["data"] == {"n": 1}
    assert body["timestamp"].endswith("Z")


def test_the_relay_passes_each_event_on_once_in_sequence_order(world, test_type, monkeypatch):
    passed: list[int] = []
    monkeypatch.setattr(
        "core.outbox._handlers", lambda: [lambda events: passed.extend(e.sequence for e in events)]
    )
    for i in range(5):
        E.event_emit(tenant=world.tenant, type=TYPE, object_id=i, payload={"n": i})
    assert events_relay(world.tenant.pk, batch=2) == 5
    assert events_relay(world.tenant.pk) == 0
    E.event_emit(tenant=world.tenant, type=TYPE, object_id=9, payload={"n": 9})
    assert events_relay(world.tenant.pk) == 1
    assert passed == [1, 2, 3, 4, 5, 6]
    assert EventRelayCursor.objects.get(tenant=world.tenant).last_sequence == 6


def test_a_failing_handler_leaves_the_batch_for_the_next_relay(world, test_type, monkeypatch):
    E.event_emit(tenant=world.tenant, type=TYPE, object_id=1, payload={"n": 1})

    def broken(events):
        raise Boom

    monkeypatch.setattr("core.outbox._handlers", lambda: [broken])
    with pytest.raises(Boom):
        events_relay(world.tenant.pk)
    assert not EventRelayCursor.objects.filter(tenant=world.tenant, last_sequence__gt=0).exists()
    passed: list[int] = []
    monkeypatch.setattr(
        "core.outbox._handlers", lambda: [lambda events: passed.extend(e.sequence for e in events)]
    )
    assert events_relay(world.tenant.pk) == 1 and passed == [1]


def test_committing_an_event_asks_for_one_relay_per_transaction(
    world, test_type, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[tuple] = []
    monkeypatch.setattr("core.queue.enqueue", lambda func, *args, **kw: queued.append((func, args)))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for i in range(3):
            E.event_emit(tenant=world.tenant, type=TYPE, object_id=i, payload={"n": i})
    assert queued == [("core.tasks.events_relay", (world.tenant.pk,))]
