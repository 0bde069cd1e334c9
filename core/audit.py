"""The tamper-evident audit chain (SPEC 3): append and verify.

hash = HMAC-SHA256(AUDIT_CHAIN_KEY, prev_hash || canonical JSON of the entry's other fields).
The key lives outside the database, so write access to the database is not enough to forge
a chain that verifies.

Key rotation: new entries are always signed with AUDIT_CHAIN_KEY; the keys it replaced are
listed in AUDIT_CHAIN_PREVIOUS_KEYS (newest first) so that older entries still verify. Along a
chain the key may only move forward (an entry signed with a newer key is never followed by one
signed with an older key), and a chain's last entry must be signed with the current key:
`manage.py audit_key_rotated` appends an AUDIT_KEY_ROTATED entry to every tenant's chain right
after the switch. So a retired key that leaks can neither append after the rotation nor rewrite
the entries before it (the first entry under the new key covers its predecessor's hash).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.actors import Actor
from core.bulk import bulk_insert
from core.events import action_has_events, events_for_audit
from core.exceptions import DomainError
from core.models import AuditChainHead, AuditEntry, Tenant

GENESIS = "0" * 64


def _default(o: Any) -> Any:
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, set | frozenset):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8, Decimals as strings: one text for one value."""
    return orjson.dumps(value, default=_default, option=_OPTS).decode()


def _key() -> bytes:
    return settings.AUDIT_CHAIN_KEY.encode()


def _verification_keys() -> list[bytes]:
    """The current key first, then the keys it replaced, newest first (duplicates dropped)."""
    keys = [settings.AUDIT_CHAIN_KEY, *getattr(settings, "AUDIT_CHAIN_PREVIOUS_KEYS", [])]
    return [k.encode() for k in dict.fromkeys(k for k in keys if k)]


def entry_hash(
    prev_hash: str,
    *,
    tenant_id: int,
    seq: int,
    at: datetime | str,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str,
    payload: Any,
    key: bytes | None = None,
) -> str:
    """The HMAC of one entry chained to its predecessor (`at` as a datetime or its UTC ISO text)."""
    body = canonical_json(
        {
            "tenant": tenant_id,
            "seq": seq,
            "at": at if isinstance(at, str) else iso_utc(at),
            "actor": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "reason": reason,
            "payload": payload,
        }
    )
    return hmac.digest(key or _key(), (prev_hash + body).encode(), "sha256").hex()


def iso_utc(at: datetime) -> str:
    """The timestamp text that goes into the hash: UTC, microseconds, `+00:00`."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _lock_head(tenant: Tenant) -> AuditChainHead:
    # order_by(): the model orders by the tenant's slug, a join a lookup by key does not need
    head = (
        AuditChainHead.objects.select_for_update(of=("self",))
        .filter(tenant=tenant)
        .order_by()
        .first()
    )
    if head is None:
        AuditChainHead.objects.get_or_create(tenant=tenant)
        head = AuditChainHead.objects.select_for_update().get(tenant=tenant)
    return head


def audit_record(
    *,
    tenant: Tenant,
    actor: Actor | None,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    reason: str = "",
    payload: dict | None = None,
    reason_required: bool = False,
) -> AuditEntry:
    """Append one entry to the tenant's chain (serialised by the chain-head row lock)."""
    reason = (reason or "").strip()
    if reason_required and not reason:
        raise DomainError("A reason is required for this action.", code="reason_required")
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or obj.pk
    clean_payload = orjson.loads(canonical_json(payload or {}))
    user = actor.user if actor is not None else None
    actor_label = actor.label if actor is not None else "system"
    if _unlocked_append_applies(action):
        entry = _append_if_head_unmoved(
            tenant, user, actor_label, action, object_type, str(object_id), reason, clean_payload
        )
        if entry is not None:
            return entry
    with transaction.atomic():
        head = _lock_head(tenant)
        seq = head.seq + 1
        prev = head.hash or GENESIS
        at = timezone.now()
        fields = {
            "seq": seq,
            "at": at,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "reason": reason,
            "payload": clean_payload,
        }
        digest = entry_hash(prev, tenant_id=tenant.pk, actor_id=user.pk if user else None, **fields)
        entry = AuditEntry.objects.create(
            tenant=tenant, actor=user, prev_hash=prev, hash=digest, **fields
        )
        head.seq, head.hash = seq, digest
        head.save(update_fields=["seq", "hash"])
        # an action of the event catalogue writes its event here, in the same transaction
        events_for_audit(head, [(entry, obj)])
    return entry


# One statement appends an entry if the chain head is still the one read: the head moves to the
# new entry and the entry is inserted, or neither (no row matched: another append came first).
_APPEND_IF_HEAD = """
WITH head AS (
    UPDATE core_auditchainhead SET seq = %s, hash = %s
    WHERE tenant_id = %s AND seq = %s AND hash = %s
    RETURNING tenant_id
)
INSERT INTO core_auditentry (tenant_id, seq, at, actor_id, actor_label, action, object_type,
                             object_id, reason, payload, prev_hash, hash)
SELECT tenant_id, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s FROM head
RETURNING id
"""


def _unlocked_append_applies(action: str) -> bool:
    """Whether an entry may be appended by compare-and-set rather than under the head's lock.

    Only on PostgreSQL in autocommit (a request's audited read, not a service's transaction,
    whose lock must last until it commits) and for actions that write no event (events are
    numbered under the lock).
    """
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not action_has_events(action)
    )


def _append_if_head_unmoved(
    tenant: Tenant,
    user,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    reason: str,
    payload: Any,
) -> AuditEntry | None:
    """Append one entry in two round trips (read the head; write entry and head in one
    statement if the head has not moved), instead of five (BEGIN, lock the head, insert, update
    the head, COMMIT). The same chain as the locked append; None when another append moved the
    head in between (the caller then appends under the lock) or the tenant has no head yet.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, hash FROM core_auditchainhead WHERE tenant_id = %s", [tenant.pk]
        )
        row = cursor.fetchone()
        if row is None:
            return None
        head_seq, head_hash = row
        seq, prev, at = head_seq + 1, head_hash or GENESIS, timezone.now()
        user_id = user.pk if user else None
        fields = {
            "seq": seq,
            "at": at,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "reason": reason,
            "payload": payload,
        }
        digest = entry_hash(prev, tenant_id=tenant.pk, actor_id=user_id, **fields)
        cursor.execute(
            _APPEND_IF_HEAD,
            [
                seq,
                digest,
                tenant.pk,
                head_seq,
                head_hash,
                seq,
                at,
                user_id,
                actor_label,
                action,
                object_type,
                object_id,
                reason,
                canonical_json(payload),
                prev,
                digest,
            ],
        )
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    entry = AuditEntry(
        pk=inserted[0], tenant=tenant, actor=user, prev_hash=prev, hash=digest, **fields
    )
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


_ENTRY_FIELDS = (
    "tenant",
    "seq",
    "at",
    "actor",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "reason",
    "payload",
    "prev_hash",
    "hash",
)


def audit_record_many(
    *, tenant: Tenant, actor: Actor | None, entries: list[dict]
) -> list[AuditEntry]:
    """Append several entries at once, in order (one head lock, one insert): set-based services.

    Each entry is a dict of `action`, `obj` (or `object_type` and `object_id`), optional
    `reason` and `payload`; the chain is the same as if `audit_record` had been called for each.
    """
    if not entries:
        return []
    user = actor.user if actor is not None else None
    actor_label = actor.label if actor is not None else "system"
    rows, objs = [], []
    with transaction.atomic():
        head = _lock_head(tenant)
        seq, prev = head.seq, head.hash or GENESIS
        for item in entries:
            obj = item.get("obj")
            objs.append(obj)
            object_type = item.get("object_type") or (obj._meta.label if obj is not None else "")
            object_id = item.get("object_id") or (obj.pk if obj is not None else "")
            seq += 1
            fields = {
                "seq": seq,
                "at": timezone.now(),
                "actor_label": actor_label,
                "action": item["action"],
                "object_type": object_type,
                "object_id": str(object_id),
                "reason": (item.get("reason") or "").strip(),
                "payload": orjson.loads(canonical_json(item.get("payload") or {})),
            }
            digest = entry_hash(
                prev, tenant_id=tenant.pk, actor_id=user.pk if user else None, **fields
            )
            rows.append(
                AuditEntry(tenant=tenant, actor=user, prev_hash=prev, hash=digest, **fields)
            )
            prev = digest
        # COPY on PostgreSQL (bulk_create escapes the JSON payloads slowly there): the rows
        # come back without ids.
        bulk_insert(AuditEntry, rows, _ENTRY_FIELDS)
        head.seq, head.hash = seq, prev
        head.save(update_fields=["seq", "hash"])
        events_for_audit(head, list(zip(rows, objs, strict=True)))
    return rows


@dataclass(frozen=True)
class ChainReport:
    """What verification found: OK, or the first entry that breaks the chain and why."""

    tenant: str
    entries: int
    ok: bool
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""

    def as_dict(self) -> dict:
        """The JSON shape of the API and the command."""
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "entries": self.entries,
            "firstBroken": None
            if self.ok
            else {"seq": self.broken_seq, "id": self.broken_id, "problem": self.problem},
        }


_FIELDS = (
    "id",
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "reason",
    "payload",
    "prev_hash",
    "hash",
)


def verify_chain(tenant: Tenant) -> ChainReport:
    """Recompute the tenant's chain from the first entry; name the first broken one."""
    with transaction.atomic():  # one snapshot; PostgreSQL's server-side cursor needs it
        return _verify_rows(tenant, _chain_rows(tenant))


_PG_ROWS = """
SELECT id, seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
       actor_id, actor_label, action, object_type, object_id, reason, payload, prev_hash, hash
FROM core_auditentry WHERE tenant_id = %s ORDER BY seq
"""


def _chain_rows(tenant: Tenant):
    """The tenant's entries in seq order, `at` already as hash text (fast path on PostgreSQL)."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.connection.cursor(name=f"audit_verify_{tenant.pk}") as cursor:
            cursor.itersize = 10000
            cursor.execute(_PG_ROWS, (tenant.pk,))
            loads = orjson.loads  # Django's psycopg setup hands jsonb over as text
            for row in cursor:
                yield (*row[:9], loads(row[9]) if isinstance(row[9], str) else row[9], *row[10:])
        return
    rows = (
        AuditEntry.objects.filter(tenant=tenant)
        .order_by("seq")
        .values_list(*_FIELDS)
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield (*row[:2], iso_utc(row[2]), *row[3:])


def _verify_rows(tenant: Tenant, rows) -> ChainReport:
    keys = _verification_keys()
    # index into keys of the key that signed the entry before (newest = 0); the next entry may
    # use it or a newer one, never an older one. The first entry may use any key.
    current = len(keys) - 1
    expected_seq, prev, count, last_pk = 1, GENESIS, 0, None

    def broken(seq: int | None, pk: int | None, problem: str) -> ChainReport:
        return ChainReport(tenant.slug, count, False, seq, pk, problem)

    for pk, seq, at, actor_id, label, action, otype, oid, reason, payload, prev_hash, h in rows:
        if seq != expected_seq:
            return broken(
                seq, pk, f"entry #{expected_seq} is missing or out of order (found #{seq} next)"
            )
        if prev_hash != prev:
            return broken(seq, pk, "prev_hash does not match the hash of the entry before it")
        fields = {
            "tenant_id": tenant.pk,
            "seq": seq,
            "at": at,
            "actor_id": actor_id,
            "actor_label": label,
            "action": action,
            "object_type": otype,
            "object_id": oid,
            "reason": reason,
            "payload": payload,
        }
        # the key of the entry before first (one HMAC per entry but at a rotation), then newer
        for index in range(current, -1, -1):
            if hmac.compare_digest(entry_hash(prev, key=keys[index], **fields), h):
                current = index
                break
        else:
            return broken(seq, pk, _content_problem(prev, fields, h, keys, current))
        prev, expected_seq, count, last_pk = h, expected_seq + 1, count + 1, pk
    head = AuditChainHead.objects.filter(tenant=tenant).first()
    if head is not None and (head.seq != count or (count and head.hash != prev)):
        return broken(
            count + 1,
            None,
            f"the chain ends at #{count} but its head records #{head.seq} (entries were removed)",
        )
    if count and current != 0:
        return broken(
            count,
            last_pk,
            "the last entry is signed with a retired key (run `manage.py audit_key_rotated` "
            "after rotating AUDIT_CHAIN_KEY; otherwise the chain was rewritten with an old key)",
        )
    return ChainReport(tenant.slug, count, True)


def audit_key_rotated() -> int:
    """Append AUDIT_KEY_ROTATED, signed with the current key, to every tenant's chain."""
    count = 0
    for tenant in Tenant.objects.order_by("pk").iterator():
        audit_record(
            tenant=tenant,
            actor=None,
            action="AUDIT_KEY_ROTATED",
            object_type="core.Tenant",
            object_id=tenant.pk,
            payload={"previous_keys": len(_verification_keys()) - 1},
        )
        count += 1
    return count


def _content_problem(prev: str, fields: dict, h: str, keys: list[bytes], current: int) -> str:
    """Why an entry's hash does not verify: altered, or signed with a key older than allowed."""
    for key in keys[current + 1 :]:
        if hmac.compare_digest(entry_hash(prev, key=key, **fields), h):
            return (
                "signed with a retired key after a newer key was in use "
                "(appended or rewritten with an old key)"
            )
    return "content does not match its hash (the entry was altered)"
