"""The event catalogue and the one place events are written (the transactional outbox).

Each app registers its event types in its AppConfig.ready() (`event_types_register`). A type
names the audit actions that write it: `core.audit` calls `events_for_audit` for every entry it
appends, inside the same transaction, so an event exists exactly when its change committed.
Changes that write no audit entry of their own (a wallet falling below its minimum, denials
opened by a remittance) call `event_emit` / `event_emit_many` inside their transaction.

Payloads carry ids, states, counts and amounts, never PHI: `payload_check` refuses the keys that
would carry a name, a birth date or a member id, and every catalogued sample is scanned by the
tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

log = logging.getLogger("healthbill.events")


@dataclass(frozen=True)
class EventContext:
    """What a payload builder sees: the changed object (if the action passed one) and the audit."""

    action: str
    obj: Any
    object_type: str
    object_id: str
    audit_payload: dict


@dataclass(frozen=True)
class EventType:
    """One catalogued event type.

    - `actions`: audit actions that write this event (empty: the app emits it itself).
    - `payload(ctx)`: the event's payload, or None to write no event for this entry (e.g. an
      invoice request submitted that went straight to APPROVED is not pending approval).
    - `recipients(event)`: ids of the staff users whose work this event is (notifications).
    - `title(event)` / `link(event)`: the notification's text (no PHI) and the screen it opens.
    """

    name: str
    description: str
    object_type: str
    sample: dict
    actions: tuple[str, ...] = ()
    payload: Callable[[EventContext], dict | None] | None = None
    recipients: Callable[[Any], Iterable[int]] | None = None
    title: Callable[[Any], str] | None = None
    link: Callable[[Any], str] | None = None
    app: str = field(default="")


_TYPES: dict[str, EventType] = {}
_BY_ACTION: dict[str, list[EventType]] = {}

# keys a payload may never carry (names, birth dates, member ids and their usual spellings)
PHI_KEYS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "full_name",
        "member_name",
        "patient_name",
        "subscriber_name",
        "birth_date",
        "date_of_birth",
        "dob",
        "member_id",
        "member_number",
        "subscriber_id",
        "patient_id",
        "ssn",
        "email",
        "phone",
        "address",
    }
)


class PayloadError(ValueError):
    """A payload that would carry PHI or a value JSON cannot hold."""


def payload_check(payload: Any, *, where: str = "payload") -> None:
    """Refuse PHI keys and values other than str/int/bool/None/Decimal/list/dict."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if not isinstance(key, str):
                raise PayloadError(f"{where}: keys must be text")
            if key.lower() in PHI_KEYS:
                raise PayloadError(f"{where}.{key}: this key would carry PHI")
            payload_check(value, where=f"{where}.{key}")
    elif isinstance(payload, list | tuple):
        for i, value in enumerate(payload):
            payload_check(value, where=f"{where}[{i}]")
    elif not (payload is None or isinstance(payload, str | int | bool | Decimal)):
        raise PayloadError(f"{where}: {type(payload).__name__} is not an event value")


def event_types_register(app: str, types: Iterable[EventType]) -> None:
    """Add an app's event types to the catalogue (AppConfig.ready()); names are unique."""
    for et in types:
        if et.name in _TYPES and _TYPES[et.name].app != app:
            raise ValueError(f"event type {et.name} is already registered")
        payload_check(et.sample, where=f"{et.name} sample")
        registered = EventType(**{**et.__dict__, "app": app})
        old = _TYPES.get(et.name)
        if old is not None:
            for action in old.actions:
                _BY_ACTION[action] = [t for t in _BY_ACTION[action] if t.name != et.name]
        _TYPES[et.name] = registered
        for action in et.actions:
            _BY_ACTION.setdefault(action, []).append(registered)


def event_types() -> list[EventType]:
    """Every catalogued type, by name."""
    return [_TYPES[name] for name in sorted(_TYPES)]


def event_type_get(name: str) -> EventType | None:
    """The catalogued type called `name`, if any."""
    return _TYPES.get(name)


def event_type_names() -> list[str]:
    """Names of every catalogued type, sorted."""
    return sorted(_TYPES)


# --- writing ----------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return str(o)
        raise TypeError(f"{type(o).__name__} is not JSON serialisable")

    return orjson.loads(orjson.dumps(value, default=default, option=orjson.OPT_SORT_KEYS))


def _relay_soon(tenant_id: int) -> None:
    """After commit, ask the relay to pass the tenant's new events on (once per transaction)."""

    def fire() -> None:
        from core.queue import enqueue

        enqueue("core.tasks.events_relay", tenant_id)

    fire.relay_tenant = tenant_id  # type: ignore[attr-defined]
    if connection.in_atomic_block:
        for _sids, func, *_rest in connection.run_on_commit:
            if getattr(func, "relay_tenant", None) == tenant_id:
                return
    transaction.on_commit(fire)


def _write(head, rows: list[dict]) -> list:
    """Insert events numbered from the locked head's `event_seq` (the caller holds the lock)."""
    from core.models import Event

    objs = []
    now = timezone.now()
    for row in rows:
        payload_check(row["payload"], where=f"{row['type']} payload")
        head.event_seq += 1
        objs.append(
            Event(
                tenant_id=head.tenant_id,
                sequence=head.event_seq,
                type=row["type"],
                object_type=row.get("object_type", ""),
                object_id=str(row.get("object_id", "")),
                payload=_json_value(row["payload"]),
                occurred_at=row.get("occurred_at") or now,
                audit_seq=row.get("audit_seq"),
            )
        )
    Event.objects.bulk_create(objs)
    head.save(update_fields=["event_seq"])
    _relay_soon(head.tenant_id)
    return objs


def _rows_for_entry(
    *, action: str, obj: Any, object_type: str, object_id: str, audit_payload: dict, audit_seq
) -> list[dict]:
    rows = []
    for et in _BY_ACTION.get(action, ()):
        ctx = EventContext(
            action=action,
            obj=obj,
            object_type=object_type,
            object_id=str(object_id),
            audit_payload=audit_payload or {},
        )
        payload = et.payload(ctx) if et.payload else dict(audit_payload or {})
        if payload is None:
            continue
        rows.append(
            {
                "type": et.name,
                "object_type": et.object_type or object_type,
                "object_id": object_id,
                "payload": payload,
                "audit_seq": audit_seq,
            }
        )
    return rows


def action_has_events(action: str) -> bool:
    """Whether an audit action of this name writes events (core.audit appends it under the lock)."""
    return bool(_BY_ACTION.get(action))


def events_for_audit(head, entries: list[tuple[Any, Any]]) -> None:
    """Called by core.audit with the chain head locked: write the events of these entries.

    `entries` are (AuditEntry, obj) pairs; obj is the changed instance or None.
    """
    if not _BY_ACTION:
        return
    rows = []
    for entry, obj in entries:
        if entry.action not in _BY_ACTION:
            continue
        rows += _rows_for_entry(
            action=entry.action,
            obj=obj,
            object_type=entry.object_type,
            object_id=entry.object_id,
            audit_payload=entry.payload,
            audit_seq=entry.seq,
        )
    if rows:
        _write(head, rows)


def event_emit(*, tenant, type: str, obj: Any = None, object_id: str | int = "", payload: dict):
    """Write one event of a catalogued type now, in the caller's transaction."""
    return event_emit_many(
        tenant=tenant, type=type, items=[{"obj": obj, "object_id": object_id, "payload": payload}]
    )[0]


def event_emit_many(*, tenant, type: str, items: list[dict]) -> list:
    """Write several events of one catalogued type at once (items: obj/object_id, payload)."""
    from core.audit import _lock_head

    et = _TYPES.get(type)
    if et is None:
        raise ValueError(f"{type} is not a catalogued event type")
    if not items:
        return []
    rows = []
    for item in items:
        obj = item.get("obj")
        rows.append(
            {
                "type": type,
                "object_type": et.object_type or (obj._meta.label if obj is not None else ""),
                "object_id": item.get("object_id") or (obj.pk if obj is not None else ""),
                "payload": item["payload"],
            }
        )
    with transaction.atomic():
        head = _lock_head(tenant)
        return _write(head, rows)


# --- reading ----------------------------------------------------------------------------------


def iso(at: datetime) -> str:
    """UTC ISO text with a `Z`."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_envelope(event, *, tenant_slug: str | None = None) -> dict:
    """The JSON body of a webhook and of an `/api/events` item (Standard Webhooks shape)."""
    return {
        "id": event.message_id,
        "type": event.type,
        "timestamp": iso(event.occurred_at),
        "sequence": event.sequence,
        "tenant": tenant_slug if tenant_slug is not None else event.tenant.slug,
        "object": {"type": event.object_type, "id": event.object_id},
        "data": event.payload,
    }
