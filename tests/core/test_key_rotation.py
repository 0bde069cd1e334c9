"""Rotating AUDIT_CHAIN_KEY and SECRET_KEY (docs/operations.md): old entries and sessions stay
valid through the previous keys; a retired audit key cannot extend or rewrite the chain."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from core import scopes as S
from core.audit import entry_hash, verify_chain
from core.models import AuditEntry
from tests.core.test_audit_chain import allow_tampering, append, chain_of, entries_of, rebuild_from

OLD, NEW, NEWEST = "old-audit-key-0123456789", "new-audit-key-0123456789", "newest-audit-key-0123"


def _signed_with(entry: AuditEntry, key: str) -> bool:
    """Whether the entry's stored hash is the HMAC of its content under `key`."""
    return entry.hash == entry_hash(
        entry.prev_hash,
        tenant_id=entry.tenant_id,
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_label=entry.actor_label,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        reason=entry.reason,
        payload=entry.payload,
        key=key.encode(),
    )


def _rotated_chain():
    """Four entries under OLD, then the key rotated to NEW (#5 the marker), two more appended."""
    with override_settings(AUDIT_CHAIN_KEY=OLD, AUDIT_CHAIN_PREVIOUS_KEYS=[]):
        tenant = chain_of(4, slug="rotating")
    with override_settings(AUDIT_CHAIN_KEY=NEW, AUDIT_CHAIN_PREVIOUS_KEYS=[OLD]):
        call_command("audit_key_rotated", stdout=StringIO())
        append(tenant, 2)
    return tenant


def test_audit_key_rotation_keeps_old_entries_verifiable_and_signs_new_ones_with_the_new_key(db):
    # given a chain written under OLD, then NEW in force with OLD listed as previous
    tenant = _rotated_chain()
    rows = entries_of(tenant)
    assert rows[4].action == "AUDIT_KEY_ROTATED"
    # then entries #1-#4 are signed with OLD and #5-#7 with NEW only
    assert [_signed_with(r, OLD) for r in rows] == [True] * 4 + [False] * 3
    assert [_signed_with(r, NEW) for r in rows] == [False] * 4 + [True] * 3
    # and the whole chain verifies while OLD is listed
    with override_settings(AUDIT_CHAIN_KEY=NEW, AUDIT_CHAIN_PREVIOUS_KEYS=[OLD]):
        report = verify_chain(tenant)
    assert (report.ok, report.entries) == (True, 7)
    # but not once OLD is dropped from the list: the first old entry is named
    with override_settings(AUDIT_CHAIN_KEY=NEW, AUDIT_CHAIN_PREVIOUS_KEYS=[]):
        report = verify_chain(tenant)
    assert (report.ok, report.broken_seq) == (False, 1)


def test_audit_key_rotated_twice_verifies_with_both_previous_keys_newest_first(db):
    tenant = _rotated_chain()
    with override_settings(AUDIT_CHAIN_KEY=NEWEST, AUDIT_CHAIN_PREVIOUS_KEYS=[NEW, OLD]):
        append(tenant, 2)
        report = verify_chain(tenant)
    assert (report.ok, report.entries) == (True, 9)
    assert _signed_with(entries_of(tenant)[-1], NEWEST)


def test_a_leaked_retired_audit_key_cannot_append_after_the_rotation(db):
    # given the rotated chain, and someone holding the retired key and database write access
    tenant = _rotated_chain()
    rows = entries_of(tenant)
    allow_tampering()
    # when they alter entry #6 and re-sign #6 and #7 with the retired key (#5, the marker, stays)
    AuditEntry.objects.filter(pk=rows[5].pk).update(payload={"amount": "0.00"})
    rebuild_from(tenant, 6, key=OLD.encode())
    # then verification names #6: an old key after the new one had been in use
    with override_settings(AUDIT_CHAIN_KEY=NEW, AUDIT_CHAIN_PREVIOUS_KEYS=[OLD]):
        report = verify_chain(tenant)
    assert (report.ok, report.broken_seq, report.broken_id) == (False, 6, rows[5].pk)
    assert "retired key" in report.problem


def test_a_leaked_retired_audit_key_cannot_rewrite_the_entries_before_the_rotation(db):
    # given the rotated chain; entry #2 altered and the whole chain from #2 re-signed with the
    # retired key (the entries after the rotation cannot be re-signed without the new key)
    tenant = _rotated_chain()
    rows = entries_of(tenant)
    allow_tampering()
    AuditEntry.objects.filter(pk=rows[1].pk).update(payload={"amount": "0.00"})
    rebuild_from(tenant, 2, key=OLD.encode())
    # then the chain is refused: its last entry is not signed with the key in force
    with override_settings(AUDIT_CHAIN_KEY=NEW, AUDIT_CHAIN_PREVIOUS_KEYS=[OLD]):
        report = verify_chain(tenant)
    assert (report.ok, report.broken_seq, report.broken_id) == (False, 7, rows[6].pk)
    assert "retired key" in report.problem


def test_an_idle_chain_verifies_after_rotation_only_once_marked_by_the_command(db):
    # given a chain written under OLD and nothing appended since the key became NEW
    with override_settings(AUDIT_CHAIN_KEY=OLD, AUDIT_CHAIN_PREVIOUS_KEYS=[]):
        tenant = chain_of(3, slug="idle")
    with override_settings(AUDIT_CHAIN_KEY=NEW, AUDIT_CHAIN_PREVIOUS_KEYS=[OLD]):
        # then verification names the command to run
        report = verify_chain(tenant)
        assert (report.ok, report.broken_seq) == (False, 3)
        assert "audit_key_rotated" in report.problem
        # when the command runs / then every chain gets the marker and verifies
        out = StringIO()
        call_command("audit_key_rotated", stdout=out)
        assert "appended to 1 chain(s)" in out.getvalue()
        report = verify_chain(tenant)
    assert (report.ok, report.entries) == (True, 4)
    marker = entries_of(tenant)[-1]
    assert marker.action == "AUDIT_KEY_ROTATED" and _signed_with(marker, NEW)


def test_audit_key_rotated_refuses_to_run_without_previous_keys(db):
    with override_settings(AUDIT_CHAIN_PREVIOUS_KEYS=[]), pytest.raises(CommandError) as exc:
        call_command("audit_key_rotated", stdout=StringIO())
    assert "AUDIT_CHAIN_PREVIOUS_KEYS" in str(exc.value)


def test_secret_key_rotation_keeps_signed_in_sessions_through_the_fallback(world):
    # given a staff user signed in under the old SECRET_KEY
    with override_settings(SECRET_KEY="old-secret-" + "x" * 50):
        client = world.client(S.Role.OWNER)
        assert client.get("/api/audit/verify").status_code == 200
    anonymous = world.client(None).get("/api/audit/verify").status_code
    # when the key is rotated with the old one kept as a fallback / then the session still works
    with override_settings(
        SECRET_KEY="new-secret-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-secret-" + "x" * 50]
    ):
        assert client.get("/api/audit/verify").status_code == 200
    # and without the fallback the old session is signed out (as anonymous)
    with override_settings(SECRET_KEY="other-secret-" + "z" * 50, SECRET_KEY_FALLBACKS=[]):
        assert client.get("/api/audit/verify").status_code == anonymous != 200
