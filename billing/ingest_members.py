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

from billing.models import Member
from core.actors import Actor
from core.audit import audit_record
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


def _locked(tenant_id: int, ids: list[str]) -> dict[str, Member]:
    """The members, row-locked in member id order (chunks side by side cannot deadlock)."""
    found: dict[str, Member] = {}
    for i in range(0, len(ids), _GROUP):
        qs = (
            Member.objects.select_for_update()
            .filter(tenant_id=tenant_id, external_id__in=ids[i : i + _GROUP])
            .order_by("external_id")
        )
        found.update((m.external_id, m) for m in qs)
    return found


def members_apply(
    ctx: ChunkContext, rows: list[Demographics], *, create: bool
) -> tuple[dict[str, int], set[int]]:
    """Create unknown members (if `create`), apply newer demographics; ids and rows applied.

    Returns the member pks by member id and the row numbers whose values changed a member
    that existed before this chunk.
    """
    newest = _newest_per_member(rows)
    ids = sorted(newest)
    if create:
        Member.objects.bulk_create(
            [
                Member(
                    tenant_id=ctx.tenant_id,
                    external_id=mid,
                    first_name=newest[mid].first_name,
                    last_name=newest[mid].last_name,
                    birth_date=newest[mid].birth_date,
                    demographics_file_date=newest[mid].file_date,
                    demographics_received_at=ctx.received_at,
                )
                for mid in ids
            ],
            batch_size=_GROUP,
            ignore_conflicts=True,
        )
    members = _locked(ctx.tenant_id, ids)
    changed: list[Member] = []
    confirmed: dict[tuple, list[int]] = defaultdict(list)
    audits: list[tuple[Member, Demographics, dict]] = []
    for mid, row in newest.items():
        member = members.get(mid)
        if member is None:
            continue
        current = _as_of(member.demographics_file_date, member.demographics_received_at)
        candidate = (row.file_date, ctx.received_at)
        if current is not None and candidate < current:
            continue  # an older file never changes what a newer one said
        if row.values() == _values(member):
            # a file of a later date says the same: it is now what set them (the same file
            # delivered again changes nothing)
            if current is None or row.file_date > current[0]:
                confirmed[candidate].append(member.pk)
            continue
        previous = {
            "first_name": member.first_name,
            "last_name": member.last_name,
            "birth_date": member.birth_date,
            "file_date": member.demographics_file_date,
            "received_at": member.demographics_received_at,
        }
        member.first_name, member.last_name, member.birth_date = row.values()
        member.demographics_file_date, member.demographics_received_at = candidate
        changed.append(member)
        audits.append((member, row, previous))
    Member.objects.bulk_update(
        changed,
        [*DEMOGRAPHICS, "demographics_file_date", "demographics_received_at"],
        batch_size=500,
    )
    for (file_date, received_at), pks in confirmed.items():
        for i in range(0, len(pks), _GROUP):
            Member.objects.filter(pk__in=pks[i : i + _GROUP]).update(
                demographics_file_date=file_date, demographics_received_at=received_at
            )
    if audits:
        _audit(ctx, audits)
    return {mid: m.pk for mid, m in members.items()}, {row.row_number for _, row, _ in audits}


def _values(member: Member) -> tuple:
    return (member.first_name, member.last_name, member.birth_date)


def _audit(ctx: ChunkContext, audits: list[tuple[Member, Demographics, dict]]) -> None:
    tenant = Tenant.objects.get(pk=ctx.tenant_id)
    actor = Actor.system_for(tenant)
    for member, row, previous in audits:
        fields = [f for f in DEMOGRAPHICS if previous[f] != getattr(member, f)]
        audit_record(
            tenant=tenant,
            actor=actor,
            action="MEMBER_DEMOGRAPHICS_UPDATED",
            obj=member,
            payload={
                "batch": ctx.batch_id,
                "row": row.row_number,
                "fields": fields,
                "file_date": row.file_date.isoformat(),
                "received_at": ctx.received_at.isoformat(),
                "previous": {
                    k: v.isoformat() if isinstance(v, date | datetime) else v
                    for k, v in previous.items()
                },
            },
        )
