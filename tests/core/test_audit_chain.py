"""The tamper-evident audit chain (SPEC 3): appends, verification, key, API and trigger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import scopes as S
from core.actors import Actor
from core.audit import GENESIS, audit_record, entry_hash, verify_chain
from core.exceptions import DomainError
from core.models import AuditChainHead, AuditEntry, Tenant
from tests.fixtures import make_tenant

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- helpers ----------------------------------------------------------------------------------


def allow_tampering() -> None:
    """Let this test write to the audit table like an intruder would (PostgreSQL has a trigger).

    Runs inside the test's transaction, so the `db` fixture's rollback re-enables the trigger.
    The deferred foreign-key checks of rows inserted so far are run first: PostgreSQL refuses to
    alter a table with pending trigger events.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_update_delete"
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def flush_pending_checks() -> None:
    """Run deferred foreign-key checks now (TRUNCATE, like ALTER TABLE, refuses pending ones)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def entries_of(tenant: Tenant) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(tenant=tenant).order_by("seq"))


def append(tenant: Tenant, count: int, actor: Actor | None = None) -> None:
    """Append `count` ordinary entries with varied payloads."""
    for i in range(count):
        audit_record(
            tenant=tenant,
            actor=actor,
            action=f"TEST_ACTION_{i % 3}",
            object_type="test.Thing",
            object_id=i,
            reason=f"reason {i}" if i % 2 else "",
            payload={
                "i": i,
                "amount": Decimal("12.30") + i,
                "day": date(2026, 1, 1) + timedelta(days=i),
                "nested": {"b": [1, 2, i], "a": "é"},
            },
        )


def chain_of(length: int, slug: str = "chain") -> Tenant:
    """A tenant whose chain holds exactly `length` entries (TENANT_CREATED is #1)."""
    tenant = make_tenant(slug)
    append(tenant, length - 1)
    return tenant


def swap_seqs(a: AuditEntry, b: AuditEntry) -> None:
    """Give two rows each other's seq (through a free value: (tenant, seq) is unique)."""
    AuditEntry.objects.filter(pk=a.pk).update(seq=-1)
    AuditEntry.objects.filter(pk=b.pk).update(seq=a.seq)
    AuditEntry.objects.filter(pk=a.pk).update(seq=b.seq)


def rebuild_from(tenant: Tenant, seq: int, key: bytes) -> None:
    """What someone with database write access would do: re-hash the chain from `seq` on."""
    rows = entries_of(tenant)
    prev = rows[seq - 2].hash if seq > 1 else GENESIS
    for row in rows[seq - 1 :]:
        digest = entry_hash(
            prev,
            tenant_id=tenant.pk,
            seq=row.seq,
            at=row.at,
            actor_id=row.actor_id,
            actor_label=row.actor_label,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            reason=row.reason,
            payload=row.payload,
            key=key,
        )
        AuditEntry.objects.filter(pk=row.pk).update(prev_hash=prev, hash=digest)
        prev = digest
    AuditChainHead.objects.filter(tenant=tenant).update(hash=prev)


# --- appending --------------------------------------------------------------------------------


def test_audit_record_numbers_entries_and_links_each_to_the_one_before(world):
    # given a fresh tenant (its chain starts with TENANT_CREATED)
    tenant = make_tenant("gamma")
    # when five more entries are appended
    append(tenant, 5, actor=Actor(tenant=tenant, user=world.users[S.Role.OWNER]))
    # then the entries are numbered 1..6 and each names the hash of the one before it
    rows = entries_of(tenant)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0].action == "TENANT_CREATED"
    assert rows[0].prev_hash == GENESIS
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    assert len({r.hash for r in rows}) == 6
    # and the head records the last entry
    head = AuditChainHead.objects.get(tenant=tenant)
    assert (head.seq, head.hash) == (6, rows[-1].hash)
    # and each hash is the HMAC of the entry's own fields chained to its predecessor
    last = rows[-1]
    assert last.hash == entry_hash(
        last.prev_hash,
        tenant_id=tenant.pk,
        seq=last.seq,
        at=last.at,
        actor_id=last.actor_id,
        actor_label=last.actor_label,
        action=last.action,
        object_type=last.object_type,
        object_id=last.object_id,
        reason=last.reason,
        payload=last.payload,
    )


def test_audit_record_keeps_one_chain_per_tenant(db):
    # given two tenants
    a, b = make_tenant("one"), make_tenant("two")
    # when entries are appended to both, interleaved
    for i in range(4):
        audit_record(tenant=a, actor=None, action="A", payload={"i": i})
        audit_record(tenant=b, actor=None, action="B", payload={"i": i})
    audit_record(tenant=a, actor=None, action="A", payload={"i": 99})
    # then each tenant has its own gap-free numbering, starting from the genesis hash
    rows_a, rows_b = entries_of(a), entries_of(b)
    assert [r.seq for r in rows_a] == [1, 2, 3, 4, 5, 6]
    assert [r.seq for r in rows_b] == [1, 2, 3, 4, 5]
    assert rows_a[0].prev_hash == GENESIS and rows_b[0].prev_hash == GENESIS
    assert {r.action for r in rows_a[1:]} == {"A"}
    assert {r.action for r in rows_b[1:]} == {"B"}
    assert verify_chain(a).ok and verify_chain(b).ok


def test_audit_record_names_the_object_and_the_actor(world):
    # given a membership of the owner, acted on by the owner
    actor = world.actor(S.Role.OWNER)
    membership = world.tenant.memberships.get(user=world.users[S.Role.OWNER])
    # when it is recorded with obj=
    entry = audit_record(
        tenant=world.tenant, actor=actor, action="X", obj=membership, reason="  why  "
    )
    # then the entry names the model, the pk, the user and the stripped reason
    assert (entry.object_type, entry.object_id) == ("core.TenantMembership", str(membership.pk))
    assert (entry.actor_id, entry.actor_label) == (actor.user.pk, "alpha-owner")
    assert entry.reason == "why"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_audit_record_refuses_an_empty_reason_when_one_is_required(world, reason):
    # given the tenant's chain as it stands
    before = AuditEntry.objects.filter(tenant=world.tenant).count()
    # when an action that needs a reason is recorded without one
    with pytest.raises(DomainError) as exc:
        audit_record(
            tenant=world.tenant,
            actor=world.actor(),
            action="MANUAL_FLIP",
            reason=reason,
            reason_required=True,
        )
    # then it is refused with a clear code and nothing is appended
    assert exc.value.code == "reason_required"
    assert "reason" in exc.value.message.lower()
    assert AuditEntry.objects.filter(tenant=world.tenant).count() == before
    assert AuditChainHead.objects.get(tenant=world.tenant).seq == before


def test_audit_record_accepts_a_reason_when_one_is_required(world):
    entry = audit_record(
        tenant=world.tenant,
        actor=world.actor(),
        action="MANUAL_FLIP",
        reason="payer confirmed by phone",
        reason_required=True,
    )
    assert entry.reason == "payer confirmed by phone"
    assert verify_chain(world.tenant).ok


# --- verification: worked examples ------------------------------------------------------------


def test_verify_chain_accepts_an_intact_chain(db):
    tenant = chain_of(8)
    report = verify_chain(tenant)
    assert report.ok
    assert report.entries == 8
    assert (report.broken_seq, report.broken_id, report.problem) == (None, None, "")
    assert report.as_dict() == {"tenant": "chain", "ok": True, "entries": 8, "firstBroken": None}


def test_verify_chain_accepts_an_empty_chain(db):
    # given a tenant row made without the service (no entry, no head yet)
    tenant = Tenant.objects.create(slug="bare", name="Bare")
    # then there is nothing to contradict
    assert verify_chain(tenant).ok
    assert verify_chain(tenant).entries == 0


@pytest.mark.parametrize(
    "change",
    [
        {"payload": {"i": 3, "amount": "0.00"}},
        {"reason": "nothing to see"},
        {"action": "TEST_HARMLESS"},
        {"actor_label": "somebody else"},
        {"object_id": "424242"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_verify_chain_names_an_altered_entry(db, change):
    # given an intact chain of 6 entries
    tenant = chain_of(6)
    target = entries_of(tenant)[3]  # seq 4
    # when one field of entry #4 is changed in place
    allow_tampering()
    AuditEntry.objects.filter(pk=target.pk).update(**change)
    # then verification names entry #4 and says it was altered
    report = verify_chain(tenant)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (4, target.pk)
    assert report.problem == "content does not match its hash (the entry was altered)"
    assert report.entries == 3


def test_verify_chain_names_an_entry_whose_time_was_moved(db):
    tenant = chain_of(3)
    target = entries_of(tenant)[1]
    allow_tampering()
    AuditEntry.objects.filter(pk=target.pk).update(at=target.at - timedelta(days=1))
    report = verify_chain(tenant)
    assert (report.ok, report.broken_seq, report.broken_id) == (False, 2, target.pk)


def test_verify_chain_names_the_first_of_two_altered_entries(db):
    tenant = chain_of(7)
    rows = entries_of(tenant)
    allow_tampering()
    AuditEntry.objects.filter(pk=rows[5].pk).update(reason="later edit")
    AuditEntry.objects.filter(pk=rows[2].pk).update(reason="earlier edit")
    report = verify_chain(tenant)
    assert (report.broken_seq, report.broken_id) == (3, rows[2].pk)


def test_verify_chain_names_the_row_found_where_a_deleted_entry_was_expected(db):
    # given an intact chain of 6 entries
    tenant = chain_of(6)
    rows = entries_of(tenant)
    # when entry #3 is deleted
    allow_tampering()
    AuditEntry.objects.filter(pk=rows[2].pk).delete()
    # then the row now in its place (#4) is named, and the message says #3 is missing
    report = verify_chain(tenant)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (4, rows[3].pk)
    assert report.problem == "entry #3 is missing or out of order (found #4 next)"
    assert report.entries == 2


def test_verify_chain_names_reordered_entries(db):
    # given an intact chain of 6 entries
    tenant = chain_of(6)
    rows = entries_of(tenant)
    # when entries #2 and #5 trade places
    allow_tampering()
    swap_seqs(rows[1], rows[4])
    # then position #2 is named, holding the row that used to be #5
    report = verify_chain(tenant)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (2, rows[4].pk)
    assert report.problem == "prev_hash does not match the hash of the entry before it"
    assert report.entries == 1


def test_verify_chain_detects_a_truncated_tail(db):
    # given an intact chain of 6 entries
    tenant = chain_of(6)
    rows = entries_of(tenant)
    # when the last two entries are deleted
    allow_tampering()
    AuditEntry.objects.filter(pk__in=[rows[4].pk, rows[5].pk]).delete()
    # then the first missing entry (#5) is named from the chain head; there is no row to point at
    report = verify_chain(tenant)
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (5, None)
    assert report.problem == ("the chain ends at #4 but its head records #6 (entries were removed)")
    assert report.entries == 4


def test_verify_chain_of_one_tenant_ignores_tampering_in_another(db):
    a, b = chain_of(4, "one"), chain_of(4, "two")
    allow_tampering()
    AuditEntry.objects.filter(tenant=a, seq=2).update(reason="edited")
    assert verify_chain(a).broken_seq == 2
    assert verify_chain(b).ok


# --- verification: property over random chains and random edits ------------------------------

EDIT_KINDS = ("payload", "reason", "action", "delete", "swap", "truncate")


@st.composite
def chains_and_edits(draw):
    """(length, kind, position, extra): one edit of one chain of 1..15 entries."""
    length = draw(st.integers(min_value=1, max_value=15))
    kinds = [k for k in EDIT_KINDS if k != "swap" or length >= 2]
    kind = draw(st.sampled_from(kinds))
    if kind == "swap":
        pos = draw(st.integers(min_value=1, max_value=length - 1))
        other = draw(st.integers(min_value=pos + 1, max_value=length))
        return length, kind, pos, other
    if kind == "truncate":
        removed = draw(st.integers(min_value=1, max_value=length))
        return length, kind, length - removed + 1, removed
    return length, kind, draw(st.integers(min_value=1, max_value=length)), None


@HYPOTHESIS
@given(case=chains_and_edits())
def test_verify_chain_names_the_edited_position_of_any_chain(db, case):
    length, kind, pos, extra = case
    with transaction.atomic():  # one savepoint per example, rolled back below
        # given an intact chain of `length` entries
        tenant = chain_of(length)
        rows = entries_of(tenant)
        assert verify_chain(tenant).ok
        target = rows[pos - 1]
        # when it is edited at `pos`
        allow_tampering()
        if kind in ("payload", "reason", "action"):
            value = {"payload": {"forged": True}, "reason": "forged", "action": "FORGED"}[kind]
            AuditEntry.objects.filter(pk=target.pk).update(**{kind: value})
        elif kind == "delete":
            AuditEntry.objects.filter(pk=target.pk).delete()
        elif kind == "swap":
            swap_seqs(target, rows[extra - 1])
        else:  # truncate: the last `extra` entries
            AuditEntry.objects.filter(pk__in=[r.pk for r in rows[pos - 1 :]]).delete()
        report = verify_chain(tenant)
        # then the first broken position is exactly the edited one
        assert not report.ok
        assert report.entries == pos - 1
        if kind in ("payload", "reason", "action"):
            assert (report.broken_seq, report.broken_id) == (pos, target.pk)
            assert "altered" in report.problem
        elif kind == "delete" and pos < length:
            # the row found where #pos was expected is #pos+1
            assert (report.broken_seq, report.broken_id) == (pos + 1, rows[pos].pk)
            assert f"entry #{pos} is missing" in report.problem
        elif kind == "swap":
            # position #pos now holds the row that was #extra
            assert (report.broken_seq, report.broken_id) == (pos, rows[extra - 1].pk)
            assert "prev_hash" in report.problem
        else:  # the last entry deleted, or a tail truncated: the head names the first gap
            assert (report.broken_seq, report.broken_id) == (pos, None)
            assert f"head records #{length}" in report.problem
        transaction.set_rollback(True)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
    | st.decimals(
        allow_nan=False, allow_infinity=False, places=2, max_value=10**9, min_value=-(10**9)
    )
    | st.dates()
)
json_payloads = st.dictionaries(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8),
    st.recursive(
        json_scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.text(min_size=1, max_size=5).filter(lambda s: "\x00" not in s), inner, max_size=3
            )
        ),
        max_leaves=8,
    ),
    max_size=5,
)


@HYPOTHESIS
@given(payloads=st.lists(json_payloads, min_size=1, max_size=5))
def test_verify_chain_accepts_any_recorded_payload(db, payloads):
    # given any JSON-able payloads (money as Decimal, dates, unicode, nesting) recorded in order
    with transaction.atomic():
        tenant = make_tenant("payloads")
        for payload in payloads:
            audit_record(tenant=tenant, actor=None, action="P", payload=payload)
        # then the chain, read back from the database, verifies
        report = verify_chain(tenant)
        assert report.ok, report
        assert report.entries == len(payloads) + 1
        transaction.set_rollback(True)


# --- the key lives outside the database -------------------------------------------------------


def test_verify_chain_fails_under_another_key(db):
    # given a chain written with the configured key
    tenant = chain_of(4)
    assert verify_chain(tenant).ok
    # when it is checked with another key
    with override_settings(AUDIT_CHAIN_KEY="not-the-key"):
        report = verify_chain(tenant)
    # then the very first entry fails
    assert (report.ok, report.broken_seq) == (False, 1)
    assert "altered" in report.problem


def test_verify_chain_refuses_a_chain_rebuilt_without_the_key(db):
    # given a chain in which someone with database access changes entry #3 ...
    tenant = chain_of(6)
    rows = entries_of(tenant)
    allow_tampering()
    AuditEntry.objects.filter(pk=rows[2].pk).update(payload={"amount": "0.00"})
    # ... and re-hashes everything from #3 on with a key of their own
    rebuild_from(tenant, 3, key=b"guessed-key")
    # then the links are consistent, yet #3 is named as altered
    rebuilt = entries_of(tenant)
    assert all(b.prev_hash == a.hash for a, b in zip(rebuilt, rebuilt[1:], strict=False))
    report = verify_chain(tenant)
    assert (report.ok, report.broken_seq, report.broken_id) == (False, 3, rows[2].pk)
    assert "altered" in report.problem


def test_verify_chain_accepts_a_chain_rebuilt_with_the_real_key(db):
    # the control for the test above: only the key stands between a writer and a valid forgery
    tenant = chain_of(6)
    rows = entries_of(tenant)
    allow_tampering()
    AuditEntry.objects.filter(pk=rows[2].pk).update(payload={"amount": "0.00"})
    rebuild_from(tenant, 3, key=django_settings.AUDIT_CHAIN_KEY.encode())
    assert verify_chain(tenant).ok


# --- GET /api/audit/verify ---------------------------------------------------------------------


def test_audit_verify_api_reports_an_intact_chain(world):
    # given tenant alpha's chain as the fixture built it
    n = AuditEntry.objects.filter(tenant=world.tenant).count()
    # when an owner asks for verification
    response = world.client(S.Role.OWNER).get("/api/audit/verify")
    # then it is OK with the number of entries
    assert response.status_code == 200
    assert response.json() == {"tenant": "alpha", "ok": True, "entries": n, "firstBroken": None}


def test_audit_verify_api_names_the_first_broken_entry(world):
    # given entry #3 of alpha's chain altered by hand
    target = AuditEntry.objects.get(tenant=world.tenant, seq=3)
    allow_tampering()
    AuditEntry.objects.filter(pk=target.pk).update(action="SOMETHING_ELSE")
    # when a billing manager asks for verification
    response = world.client(S.Role.BILLING_MANAGER).get("/api/audit/verify")
    # then the answer says not OK and names #3
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["entries"] == 2
    assert body["firstBroken"] == {
        "seq": 3,
        "id": target.pk,
        "problem": "content does not match its hash (the entry was altered)",
    }
    # and tenant beta, untouched, still verifies
    other = world.client("outsider").get("/api/audit/verify").json()
    assert (other["tenant"], other["ok"]) == ("beta", True)


def test_audit_verify_api_needs_the_audit_read_scope(world):
    response = world.client(S.Role.VIEWER).get("/api/audit/verify")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


# --- PostgreSQL: the append-only trigger ------------------------------------------------------


@pytest.mark.postgres
def test_audit_table_trigger_refuses_update(world):
    # given an entry of alpha's chain
    entry = AuditEntry.objects.get(tenant=world.tenant, seq=2)
    # when anyone runs an UPDATE on it (raw SQL or the ORM)
    with (
        pytest.raises(DatabaseError, match="append-only: UPDATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET reason = 'edited' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(payload={})
    # then the row is unchanged and the chain verifies
    entry.refresh_from_db()
    assert entry.reason == ""
    assert verify_chain(world.tenant).ok


@pytest.mark.postgres
def test_audit_table_trigger_refuses_delete(world):
    before = AuditEntry.objects.filter(tenant=world.tenant).count()
    with (
        pytest.raises(DatabaseError, match="append-only: DELETE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM core_auditentry WHERE tenant_id = %s", [world.tenant.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(tenant=world.tenant).delete()
    assert AuditEntry.objects.filter(tenant=world.tenant).count() == before
    assert verify_chain(world.tenant).ok


@pytest.mark.postgres
def test_audit_table_trigger_refuses_truncate_unless_the_session_allows_it(world):
    before = AuditEntry.objects.count()
    flush_pending_checks()
    # when a session that does not allow it truncates the table
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL healthbill.audit_allow_truncate = 'off'")
        cursor.execute("TRUNCATE core_auditentry")
    # then every entry is still there
    assert AuditEntry.objects.count() == before
    assert verify_chain(world.tenant).ok
    # and only a session that switches it on (the test suite's flush) may empty the table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL healthbill.audit_allow_truncate = 'on'")
        cursor.execute("TRUNCATE core_auditentry")
        assert AuditEntry.objects.count() == 0
        transaction.set_rollback(True)
    assert AuditEntry.objects.count() == before


@pytest.mark.postgres
def test_audit_table_trigger_still_accepts_appends(world):
    entry = audit_record(tenant=world.tenant, actor=world.actor(), action="STILL_WORKS")
    assert entry.seq == AuditEntry.objects.filter(tenant=world.tenant).count()
    assert verify_chain(world.tenant).ok
