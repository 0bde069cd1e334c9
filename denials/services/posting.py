"""Loading remittance records: store each claim payment, match it, post the matches.

Called by the REMITTANCE ingestion handler for one chunk of records, inside the chunk's
transaction: everything of the chunk is stored and posted together, or nothing is.

Matching never compares a line with every claim: candidates are the payer's open claims that
share the line's patient control number or its member (two indexed queries per chunk), then
`denials.matching` scores them. A line at or above the tenant threshold with one clear best
candidate is MATCHED_AUTO and posted at once; every other line waits in the receivables queue
with its ranked candidates and their evidence.

A line is created in its match state (creating a row is not a transition): one audit entry per
remittance and chunk lists the automatic matches, and each claim's status change goes through
`transition_apply_many` with its own entry. The remittance row is locked for the chunk, so the
chunks of one remittance (several workers) post one after the other.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from billing.models import Member, Payer
from core.actors import Actor
from core.audit import audit_record_many
from core.bulk import insert_rows
from core.models import Tenant
from denials import matching
from denials import posting_rules as rules
from denials.events import receivable_item, receivables_unmatched_emit
from denials.models import Claim, ClaimsSettings, Remittance, RemittanceClaim
from denials.remit_rows import RemitRow
from denials.services.post_apply import Posting, adjustments_json, post_many, remarks_json

log = logging.getLogger("healthbill.denials")
MatchState = RemittanceClaim.MatchState
IN_GROUP = 5000
TOP_CANDIDATES = 5
RC_FIELDS = (
    "tenant",
    "remittance",
    "row_number",
    "patient_control_number",
    "status_code",
    "charge_amount",
    "paid_amount",
    "patient_responsibility",
    "payer_claim_control_number",
    "member_code",
    "member",
    "service_date",
    "service_date_to",
    "adjustments",
    "remarks",
    "lines",
    "match_state",
    "claim",
    "score",
    "matched_at",
    "candidates",
    "evidence",
    "match_reason",
    "created_at",
)


def _groups(items: list, size: int = IN_GROUP):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def match_threshold(tenant_id: int) -> Decimal:
    """The tenant's auto-match threshold (0.9 unless its claims settings say otherwise)."""
    value = (
        ClaimsSettings.objects.filter(tenant_id=tenant_id)
        .values_list("match_threshold", flat=True)
        .first()
    )
    return value if value is not None else matching.DEFAULT_THRESHOLD


def remit_of(row: RemitRow) -> matching.Remit:
    """What the matcher compares (a reversal's negative charge compared as positive)."""
    return matching.Remit(
        patient_control_number=row.patient_control_number,
        member_id=row.member_id,
        charge_amount=abs(row.charge_amount),
        service_date=row.service_date,
        service_date_to=row.service_date_to,
    )


def candidate_claims(tenant_id: int, keys: list[tuple[int, str, int | None]]) -> tuple[dict, dict]:
    """Open claims by (payer, normalised PCN) and by (payer, member pk), for (payer, pcn, member).

    Blocking: only claims of the same payer sharing the number or the member are read.
    """
    payers = {k[0] for k in keys}
    pcns = sorted({v for _, pcn, _ in keys for v in (pcn, pcn.upper()) if v})
    members = sorted({m for _, _, m in keys if m})
    base = Claim.objects.filter(tenant_id=tenant_id, payer_id__in=payers, status__in=Claim.OPEN)
    fields = (
        "id",
        "payer_id",
        "patient_control_number",
        "member_id",
        "member__external_id",
        "billed_amount",
        "service_date",
        "service_date_to",
    )
    seen: dict[int, tuple] = {}
    for group in _groups(pcns):
        for r in base.filter(patient_control_number__in=group).values_list(*fields):
            seen[r[0]] = r
    for group in _groups(members):
        for r in base.filter(member_id__in=group).values_list(*fields):
            seen[r[0]] = r
    by_pcn: dict[tuple, list] = defaultdict(list)
    by_member: dict[tuple, list] = defaultdict(list)
    for pk, payer, pcn, member, external, billed, start, end in seen.values():
        cand = matching.Candidate(pk, pcn, external, billed, start, end)
        by_pcn[(payer, matching.blocking_keys(_remit_key(pcn))[0])].append(cand)
        by_member[(payer, member)].append(cand)
    return by_pcn, by_member


def _remit_key(pcn: str) -> matching.Remit:
    return matching.Remit(pcn, "", Decimal("0"))


def _payers(tenant_id: int) -> dict[str, int]:
    return {c.upper(): pk for c, pk in Payer.objects.filter(tenant_id=tenant_id).values_list(
        "code", "id")}  # fmt: skip


def _members(tenant_id: int, ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for group in _groups(sorted(i for i in ids if i)):
        found.update(
            Member.objects.filter(tenant_id=tenant_id, external_id__in=group).values_list(
                "external_id", "id"
            )
        )
    return found


def _remittances(
    tenant_id: int, rows: list[tuple[int, int, RemitRow]], batch_id: int, artifact_id, received_at
) -> dict[tuple[int, str], Remittance]:
    """The remittance of each (payer, trace), created when new; locked for this chunk."""
    out: dict[tuple[int, str], Remittance] = {}
    firsts: dict[tuple[int, str], RemitRow] = {}
    for _, payer_id, row in rows:
        firsts.setdefault((payer_id, row.trace_number), row)
    for key in sorted(firsts):
        row = firsts[key]
        remittance, _ = Remittance.objects.get_or_create(
            tenant_id=tenant_id,
            payer_id=key[0],
            trace_number=key[1],
            defaults={
                "trace_originator": row.trace_originator,
                "payment_amount": row.payment_amount,
                "payment_method": row.payment_method,
                "payment_date": row.payment_date,
                "batch_id": batch_id,
                "artifact_id": artifact_id,
                "received_at": received_at,
            },
        )
        out[key] = Remittance.objects.select_for_update().get(pk=remittance.pk)
    return out


def _already_loaded(remittances: dict, rows) -> dict[tuple[int, str], int]:
    """(remittance id, payer claim control number) -> row of those already stored."""
    ids = [r.pk for r in remittances.values()]
    pccns = sorted({row.payer_claim_control_number for _, _, row in rows})
    found: dict[tuple[int, str], int] = {}
    for group in _groups(pccns):
        found.update(
            ((rid, pccn), row_number)
            for rid, pccn, row_number in RemittanceClaim.objects.filter(
                remittance_id__in=ids, payer_claim_control_number__in=group
            ).values_list("remittance_id", "payer_claim_control_number", "row_number")
        )
    return found


def remittance_rows_load(
    *,
    tenant_id: int,
    rows: list[tuple[int, RemitRow]],
    batch_id: int | None = None,
    artifact_id: int | None = None,
    received_at: datetime | None = None,
    payer_code: str = "",
) -> dict[int, str]:
    """Store, match and post one chunk of remittance records; returns {row: error} refused."""
    tenant = Tenant.objects.get(pk=tenant_id)
    actor = Actor.system_for(tenant)
    received_at = received_at or timezone.now()
    payers = _payers(tenant_id)
    forced = (payer_code or "").strip().upper()
    errors: dict[int, str] = {}
    typed: list[tuple[int, int, RemitRow]] = []
    for row_number, row in rows:
        code = forced or row.payer_code.upper()
        if code not in payers:
            errors[row_number] = f"payer_code: expected a known payer, found '{code[:30]}'"
            continue
        typed.append((row_number, payers[code], row))
    if not typed:
        return errors
    remittances = _remittances(tenant_id, typed, batch_id, artifact_id, received_at)
    loaded = _already_loaded(remittances, typed)
    members = _members(tenant_id, {row.member_id for _, _, row in typed})
    by_pcn, by_member = candidate_claims(
        tenant_id,
        [(pay, row.patient_control_number, members.get(row.member_id)) for _, pay, row in typed],
    )
    threshold = match_threshold(tenant_id)
    now = timezone.now()
    warnings: dict[int, list[str]] = defaultdict(list)
    values, matched = [], {}
    for row_number, payer_id, row in typed:
        remittance = remittances[(payer_id, row.trace_number)]
        key = (remittance.pk, row.payer_claim_control_number)
        if key in loaded:
            errors[row_number] = (
                f"payer_claim_control_number: already loaded in remittance {remittance.pk} "
                f"(row {loaded[key]}); a claim payment is never posted twice"
            )
            continue
        loaded[key] = row_number
        warnings[remittance.pk] += row.warnings
        problem = rules.balancing_problem(row)
        if problem:
            warnings[remittance.pk].append(problem)
        member_pk = members.get(row.member_id)
        pcn_key = matching.blocking_keys(remit_of(row))[0]
        cands = {c.claim_id: c for c in by_pcn.get((payer_id, pcn_key), [])}
        cands.update((c.claim_id, c) for c in by_member.get((payer_id, member_pk), []))
        result = matching.match(remit_of(row), list(cands.values()), threshold)
        auto = result.auto
        if auto is not None:
            matched[key] = auto
        values.append(
            (
                tenant_id,
                remittance.pk,
                row_number,
                row.patient_control_number,
                row.status_code,
                row.charge_amount,
                row.paid_amount,
                row.patient_responsibility,
                row.payer_claim_control_number,
                row.member_id,
                member_pk,
                row.service_date,
                row.service_date_to,
                adjustments_json(row),
                remarks_json(row),
                row.lines,
                MatchState.MATCHED_AUTO if auto else MatchState.UNMATCHED,
                auto.claim_id if auto else None,
                auto.score if auto else None,
                now if auto else None,
                [s.evidence() for s in result.ranked[:TOP_CANDIDATES]],
                auto.evidence() if auto else {},
                result.reason,
                now,
            )
        )
    insert_rows(RemittanceClaim, RC_FIELDS, values)
    ids = _stored_ids(remittances, [v[8] for v in values])
    row_of = {(v[1], v[8]): v[2] for v in values}
    rows_by_number = {rn: row for rn, _, row in typed}
    postings = sorted(
        (Posting(ids[key], s.claim_id, rows_by_number[row_of[key]]) for key, s in matched.items()),
        key=lambda p: p.remittance_claim_id,
    )
    auto_ids = [p.remittance_claim_id for p in postings]
    notes = post_many(actor=actor, postings=postings)
    rem_of = {pk: key[0] for key, pk in ids.items()}
    for rc_id, note in notes:
        warnings[rem_of[rc_id]].append(note)
    _warn(remittances, warnings)
    _audit(actor, remittances, values, postings, ids)
    receivables_unmatched_emit(
        tenant=tenant,
        items=[
            receivable_item(
                ids[(v[1], v[8])],
                remittance_id=v[1],
                status_code=v[4],
                charge=v[5],
                paid=v[6],
                candidates=len(v[20]),
            )
            for v in values
            if v[16] == MatchState.UNMATCHED
        ],
    )
    log.info(
        "remittance chunk posted",
        extra={
            "batch": batch_id,
            "claims": len(values),
            "matched_auto": len(auto_ids),
            "queued": len(values) - len(auto_ids),
            "refused": len(errors),
        },
    )
    return errors


def _stored_ids(remittances: dict, pccns: list[str]) -> dict[tuple[int, str], int]:
    ids: dict[tuple[int, str], int] = {}
    rem_ids = [r.pk for r in remittances.values()]
    for group in _groups(sorted(set(pccns))):
        ids.update(
            ((rid, pccn), pk)
            for pk, rid, pccn in RemittanceClaim.objects.filter(
                remittance_id__in=rem_ids, payer_claim_control_number__in=group
            ).values_list("id", "remittance_id", "payer_claim_control_number")
        )
    return ids


def _warn(remittances: dict, warnings: dict[int, list[str]]) -> None:
    """Add this chunk's problems to each remittance's warnings (each listed once)."""
    for remittance in remittances.values():
        new = [w for w in warnings.get(remittance.pk, []) if w not in remittance.warnings]
        if new:
            remittance.warnings = list(dict.fromkeys([*remittance.warnings, *new]))
            remittance.save(update_fields=["warnings"])


def _audit(actor: Actor, remittances: dict, values: list, postings: list, ids: dict) -> None:
    """One entry per remittance and chunk: how many claim payments, and each automatic match
    (remittance claim, claim): a line is created matched, so no transition records it."""
    claim_of = {p.remittance_claim_id: p.claim_id for p in postings}
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    matched: dict[int, list] = defaultdict(list)
    for v in values:
        counts[v[1]][0] += 1
        rc_id = ids[(v[1], v[8])]
        if rc_id in claim_of:
            counts[v[1]][1] += 1
            matched[v[1]].append([rc_id, claim_of[rc_id]])
    audit_record_many(
        tenant=actor.tenant,
        actor=actor,
        entries=[
            {
                "action": "REMITTANCE_CLAIMS_LOADED",
                "obj": r,
                "payload": {
                    "claims": counts[r.pk][0],
                    "matched_auto": counts[r.pk][1],
                    "matches": matched[r.pk],
                },
            }
            for r in remittances.values()
            if counts[r.pk][0]
        ],
    )
