"""Members from eligibility rows: created when new, names and birth date from the newest file.

A member's names and birth date are not part of an eligibility row's idempotency key, so a
re-sent row that only corrects them repeats a loaded key. Its values are still applied when
its file is newer than the one that set the member's current values (file_date first, then
arrival time); every change is audited with the previous values. Nothing here is logged:
these fields are PHI.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from billing.models import Member
from core.actors import Actor
from core.audit import audit_record
from core.bulk import pg_execute
from core.models import Tenant
from ingestion.registry import ChunkContext

DEMOGRAPHICS = ("first_name", "last_name", "birth_date")
_GROUP = 5000


@dataclass(frozen=True)
class Demographics:
    """What one row says about a member."""

    row_number: int
    member_id: str
    first_name: str
    last_name: str
    birth_date: date
    file_date: date

    def values(self) -> tuple:
        return (self.first_name, self.last_name, self.birth_date)


def _as_of(file_date: date | None, received_at: datetime | None) -> tuple | None:
    if file_date is None or received_at is None:
        return None  # not known: any file may set the values
    return (file_date, received_at)


def _newest_per_member(rows: list[Demographics]) -> dict[str, Demographics]:
    """Within a chunk the newest file_date wins, then the later row."""
    newest: dict[str, Demographics] = {}
    for row in sorted(rows, key=lambda r: r.row_number):
        current = newest.get(row.member_id)
        if current is None or row.file_date >= current.file_date:
            newest[row.member_id] = row
    return newest


@dataclass
class _Current:
    """A member's id and current demographics (row-locked)."""

    pk: int
    first_name: str
    last_name: str
    birth_date: date
    file_date: date | None
    received_at: datetime | None

    def values(self) -> tuple:
        return (self.first_name, self.last_name, self.birth_date)


_FIELDS = ("id", "external_id", *DEMOGRAPHICS, "demographics_file_date", "demographics_received_at")
_LOCK_PG = """
SELECT id, external_id, first_name, last_name, birth_date, demographics_file_date,
       demographics_received_at
  FROM billing_member
 WHERE tenant_id = %b AND external_id = ANY(%b) ORDER BY external_id FOR UPDATE
"""
_INSERT_PG = """
INSERT INTO billing_member (tenant_id, external_id, first_name, last_name, birth_date,
                            demographics_file_date, demographics_received_at)
SELECT %b, u.*, %b FROM unnest(%b::text[], %b::text[], %b::text[], %b::date[], %b::date[]) u
ON CONFLICT (tenant_id, external_id) DO NOTHING
RETURNING id, external_id
"""
_UPDATE_PG = """
UPDATE billing_member m
   SET first_name = u.f, last_name = u.l, birth_date = u.b,
       demographics_file_date = u.fd, demographics_received_at = %b
  FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::date[], %b::date[]) AS u(id, f, l, b, fd)
 WHERE m.id = u.id
"""
_CONFIRM_PG = """
UPDATE billing_member SET demographics_file_date = %b, demographics_received_at = %b
 WHERE id = ANY(%b)
"""


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _locked(tenant_id: int, ids: list[str]) -> dict[str, _Current]:
    """The members, row-locked in member id order (chunks side by side cannot deadlock)."""
    found: dict[str, _Current] = {}
    for i in range(0, len(ids), _GROUP):
        group = ids[i : i + _GROUP]
        if _pg():
            rows = pg_execute(_LOCK_PG, [tenant_id, group])
        else:
            rows = (
                Member.objects.select_for_update()
                .filter(tenant_id=tenant_id, external_id__in=group)
                .order_by("external_id")
                .values_list(*_FIELDS)
            )
        found.update((r[1], _Current(r[0], *r[2:])) for r in rows)
    return found


def _create(ctx: ChunkContext, rows: list[Demographics]) -> dict[str, int]:
    """Insert members not known yet (one created meanwhile by another chunk is left alone).

    Returns the pks of the members this call inserted (by member id). They hold the values of
    their row and are this transaction's own rows: they need no lock, no second read and no
    comparison with their row.
    """
    if not rows:
        return {}
    if _pg():
        return {
            external_id: pk
            for pk, external_id in pg_execute(
                _INSERT_PG,
                [
                    ctx.tenant_id,
                    ctx.received_at,
                    [r.member_id for r in rows],
                    [r.first_name for r in rows],
                    [r.last_name for r in rows],
                    [r.birth_date for r in rows],
                    [r.file_date for r in rows],
                ],
            )
        }
    Member.objects.bulk_create(
        [
            Member(
                tenant_id=ctx.tenant_id,
                external_id=r.member_id,
                first_name=r.first_name,
                last_name=r.last_name,
                birth_date=r.birth_date,
                demographics_file_date=r.file_date,
                demographics_received_at=ctx.received_at,
            )
            for r in rows
        ],
        batch_size=_GROUP,
        ignore_conflicts=True,
    )
    return {}


def _save_changes(ctx: ChunkContext, changed: list[tuple[_Current, Demographics]]) -> None:
    if _pg():
        pg_execute(
            _UPDATE_PG,
            [
                ctx.received_at,
                [m.pk for m, _ in changed],
                [r.first_name for _, r in changed],
                [r.last_name for _, r in changed],
                [r.birth_date for _, r in changed],
                [r.file_date for _, r in changed],
            ],
        )
        return
    Member.objects.bulk_update(
        [
            Member(
                pk=m.pk,
                first_name=r.first_name,
                last_name=r.last_name,
                birth_date=r.birth_date,
                demographics_file_date=r.file_date,
                demographics_received_at=ctx.received_at,
            )
            for m, r in changed
        ],
        [*DEMOGRAPHICS, "demographics_file_date", "demographics_received_at"],
        batch_size=500,
    )


def _confirm(file_date: date, received_at: datetime, pks: list[int]) -> None:
    """A newer file says the same: it is now the file that set these values."""
    for i in range(0, len(pks), _GROUP):
        group = pks[i : i + _GROUP]
        if _pg():
            pg_execute(_CONFIRM_PG, [file_date, received_at, group])
        else:
            Member.objects.filter(pk__in=group).update(
                demographics_file_date=file_date, demographics_received_at=received_at
            )


def members_apply(
    ctx: ChunkContext, rows: list[Demographics], *, create: bool
) -> tuple[dict[str, int], set[int]]:
    """Create unknown members (if `create`), apply newer demographics; ids and rows applied.

    Returns the member pks by member id and the row numbers whose values changed a member.
    """
    newest = _newest_per_member(rows)
    ids = sorted(newest)
    members = _locked(ctx.tenant_id, ids)
    missing = [newest[mid] for mid in ids if mid not in members]
    created: dict[str, int] = {}
    if create and missing:
        # a member created here from its newest row already holds that row's values and
        # "as of": the loop below would leave it as it is, so it is not compared
        created = _create(ctx, missing)
        others = [r.member_id for r in missing if r.member_id not in created]
        if others:  # created meanwhile by another chunk (or not reported by this database)
            members.update(_locked(ctx.tenant_id, others))
    changed: list[tuple[_Current, Demographics]] = []
    confirmed: dict[tuple, list[int]] = defaultdict(list)
    for mid, row in newest.items():
        member = members.get(mid)
        if member is None:
            continue
        current = _as_of(member.file_date, member.received_at)
        candidate = (row.file_date, ctx.received_at)
        if current is not None and candidate < current:
            continue  # an older file never changes what a newer one said
        if row.values() == member.values():
            # a file of a later date says the same: it is now what set them (the same file
            # delivered again changes nothing)
            if current is None or row.file_date > current[0]:
                confirmed[candidate].append(member.pk)
            continue
        changed.append((member, row))
    if changed:
        _save_changes(ctx, changed)
        _audit(ctx, changed)
    for (file_date, received_at), pks in confirmed.items():
        _confirm(file_date, received_at, pks)
    member_pks = {mid: m.pk for mid, m in members.items()}
    member_pks.update(created)
    return member_pks, {row.row_number for _, row in changed}


def _audit(ctx: ChunkContext, changed: list[tuple[_Current, Demographics]]) -> None:
    tenant = Tenant.objects.get(pk=ctx.tenant_id)
    actor = Actor.system_for(tenant)
    for member, row in changed:
        previous = {
            "first_name": member.first_name,
            "last_name": member.last_name,
            "birth_date": member.birth_date.isoformat(),
            "file_date": member.file_date.isoformat() if member.file_date else None,
            "received_at": member.received_at.isoformat() if member.received_at else None,
        }
        audit_record(
            tenant=tenant,
            actor=actor,
            action="MEMBER_DEMOGRAPHICS_UPDATED",
            object_type=Member._meta.label,
            object_id=member.pk,
            payload={
                "batch": ctx.batch_id,
                "row": row.row_number,
                "fields": [
                    f
                    for f, old, new in zip(DEMOGRAPHICS, member.values(), row.values(), strict=True)
                    if old != new
                ],
                "file_date": row.file_date.isoformat(),
                "received_at": ctx.received_at.isoformat(),
                "previous": previous,
            },
        )
