"""Writing what posting decided: applications, denials, reversals and the claims' new status.

Shared by loading (auto-matches), force-match and unmatch. Set-based: one insert per table per
call and one transition per changed claim (with its audit entry), all inside the caller's
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.bulk import insert_rows
from core.transitions import transition_apply_many
from denials import posting_rules as rules
from denials.events import denials_opened_emit
from denials.models import Claim, Denial, PaymentApplication, RemittanceClaim
from denials.remit_rows import Adjustment, Remark, RemitRow

Kind = PaymentApplication.Kind
APP_FIELDS = (
    "tenant",
    "claim",
    "kind",
    "amount",
    "group_code",
    "carc",
    "reverses",
    "remittance_claim",
    "line_number",
    "denial",
    "created_at",
    "created_by",
)
DENIAL_FIELDS = (
    "tenant",
    "claim",
    "remittance_claim",
    "group_code",
    "carc",
    "rarcs",
    "amount",
    "status",
    "created_at",
)


@dataclass(frozen=True)
class Posting:
    """One remittance claim to post on one claim."""

    remittance_claim_id: int
    claim_id: int
    row: RemitRow


def row_of(rc: RemittanceClaim) -> RemitRow:
    """A stored remittance claim read back as the record it came from (for a later posting)."""
    return RemitRow(
        payer_code="",
        trace_number="",
        payment_amount=Decimal("0"),
        patient_control_number=rc.patient_control_number,
        status_code=rc.status_code,
        charge_amount=rc.charge_amount,
        paid_amount=rc.paid_amount,
        payer_claim_control_number=rc.payer_claim_control_number,
        patient_responsibility=rc.patient_responsibility,
        member_id=rc.member_code,
        service_date=rc.service_date,
        service_date_to=rc.service_date_to,
        adjustments=[
            Adjustment(a["group"], a["carc"], Decimal(str(a["amount"])), a.get("line"))
            for a in rc.adjustments or []
        ],
        remarks=[Remark(r["code"], r.get("line")) for r in rc.remarks or []],
        lines=list(rc.lines or []),
    )


def adjustments_json(row: RemitRow) -> list[dict]:
    """How a record's CAS triples are stored on the remittance claim."""
    return [a.as_dict() for a in row.adjustments]


def remarks_json(row: RemitRow) -> list[dict]:
    """How a record's remark codes are stored on the remittance claim."""
    return [{"code": r.code, "line": r.line} for r in row.remarks]


def post_many(*, actor: Actor, postings: list[Posting], user=None) -> list[tuple[int, str]]:
    """Post remittance claims on their claims; returns (remittance claim, note) of what could
    not be posted."""
    if not postings:
        return []
    now = timezone.now()
    tenant_id = actor.tenant.pk
    notes: list[tuple[int, str]] = []
    # Reversals first: they take back what was posted before this call, never a payment that
    # arrives in the same file after them.
    notes += _reverse_earlier(actor, [p for p in postings if p.row.is_reversal], now, user)
    apps, denials, denied_code = [], [], set()
    for p in postings:
        if p.row.is_reversal:
            continue
        plan = rules.plan(p.row)
        pccn = p.row.payer_claim_control_number
        notes += [(p.remittance_claim_id, f"claim {pccn}: {n}") for n in plan.notes]
        if p.row.status_code == rules.DENIED_CODE:
            denied_code.add(p.claim_id)
        for a in plan.applications:
            apps.append(
                (
                    tenant_id,
                    p.claim_id,
                    a.kind,
                    a.amount,
                    a.group_code,
                    a.carc,
                    None,
                    p.remittance_claim_id,
                    a.line,
                    None,
                    now,
                    user.pk if user else None,
                )
            )
        for d in plan.denials:
            denials.append(
                (
                    tenant_id,
                    p.claim_id,
                    p.remittance_claim_id,
                    d.group_code,
                    d.carc,
                    list(d.rarcs),
                    d.amount,
                    Denial.Status.OPEN,
                    now,
                )
            )
    insert_rows(PaymentApplication, APP_FIELDS, apps)
    insert_rows(Denial, DENIAL_FIELDS, denials)
    claims_settle(actor=actor, claim_ids={p.claim_id for p in postings}, denied_code=denied_code)
    # after the claims are settled: claim rows are locked before the audit head, as on every
    # other posting path (the other order could deadlock two postings on PostgreSQL)
    if denials:
        denials_opened_emit(
            tenant=actor.tenant, remittance_claim_ids={d[2] for d in denials}, created_at=now
        )
    return notes


def _reverse_earlier(actor: Actor, postings: list[Posting], now, user) -> list[tuple[int, str]]:
    """REVERSAL of every application an earlier remittance claim posted on the same claim.

    The earlier one is the posted remittance claim with the same payer claim control number,
    else the latest one posted on the claim; its open denials are voided.
    """
    if not postings:
        return []
    claim_ids = {p.claim_id for p in postings}
    open_apps = PaymentApplication.objects.filter(
        claim_id__in=claim_ids,
        reversed_by__isnull=True,
        remittance_claim__isnull=False,
    ).exclude(kind=Kind.REVERSAL)
    by_claim: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for app in open_apps.values("id", "claim_id", "remittance_claim_id", "amount", "group_code",
                                "carc", "line_number"):  # fmt: skip
        by_claim[app["claim_id"]][app["remittance_claim_id"]].append(app)
    # A fully denied claim has nothing posted but its (written-off) denial: still reversible.
    for claim_id, rc_id in Denial.objects.filter(
        claim_id__in=claim_ids, status=Denial.Status.WRITTEN_OFF
    ).values_list("claim_id", "remittance_claim_id"):
        by_claim[claim_id].setdefault(rc_id, [])
    pccn = dict(
        RemittanceClaim.objects.filter(
            pk__in={rc for apps in by_claim.values() for rc in apps}
        ).values_list("id", "payer_claim_control_number")
    )
    rows, notes, voided_rcs = [], [], []
    by_rc: dict[int, int] = {}  # reversed remittance claim -> the one reversing it
    for p in postings:
        earlier = by_claim.get(p.claim_id, {})
        same = [rc for rc in earlier if pccn.get(rc) == p.row.payer_claim_control_number]
        target = max(same or earlier, default=None)
        if target is None:
            notes.append(
                (
                    p.remittance_claim_id,
                    f"claim {p.row.payer_claim_control_number}: a reversal (CLP02 22) found no "
                    "earlier posting to take back",
                )
            )
            continue
        voided_rcs.append(target)
        by_rc[target] = p.remittance_claim_id
        for app in earlier.pop(target):
            rows.append(
                (
                    actor.tenant.pk,
                    p.claim_id,
                    Kind.REVERSAL,
                    app["amount"],
                    app["group_code"],
                    app["carc"],
                    app["id"],
                    p.remittance_claim_id,
                    app["line_number"],
                    None,
                    now,
                    user.pk if user else None,
                )
            )
    rows += _writeoffs_reversed(actor, voided_rcs, by_rc, now, user)
    insert_rows(PaymentApplication, APP_FIELDS, rows)
    denials_void(actor=actor, remittance_claim_ids=voided_rcs, reason="reversed by the payer")
    denials_resolve_by_reversal(actor=actor, remittance_claim_ids=voided_rcs)
    return notes


def _writeoffs_reversed(actor: Actor, rc_ids: list[int], by_rc: dict, now, user) -> list:
    """REVERSAL rows of the standing write-offs of the written-off denials the reversed
    remittance claims opened (the reversing remittance claim in `by_rc` names them)."""
    if not rc_ids:
        return []
    # Locked first (id order): a reopen running at the same time reverses them or we do.
    denial_ids = list(
        Denial.objects.select_for_update()
        .filter(remittance_claim_id__in=rc_ids, status=Denial.Status.WRITTEN_OFF)
        .order_by("pk")
        .values_list("id", flat=True)
    )
    writeoffs = PaymentApplication.objects.filter(
        kind=Kind.WRITEOFF, reversed_by__isnull=True, denial_id__in=denial_ids
    ).values_list("id", "claim_id", "amount", "group_code", "carc", "denial_id",
                  "denial__remittance_claim_id")  # fmt: skip
    return [
        (
            actor.tenant.pk,
            claim_id,
            Kind.REVERSAL,
            amount,
            group,
            carc,
            pk,
            by_rc[rc],
            None,
            denial_id,
            now,
            user.pk if user else None,
        )  # fmt: skip
        for pk, claim_id, amount, group, carc, denial_id, rc in writeoffs
    ]


def denials_resolve_by_reversal(*, actor: Actor, remittance_claim_ids: list[int]) -> int:
    """A reversing 835 resolves the written-off denials of the posting it took back."""
    rows = list(
        Denial.objects.filter(
            remittance_claim_id__in=remittance_claim_ids, status=Denial.Status.WRITTEN_OFF
        ).values_list("id", "claim__payer__code")
    )
    if rows:
        transition_apply_many(
            actor=actor,
            model=Denial,
            pks=[pk for pk, _ in rows],
            name="resolve_by_reversal",
            scope=S.CLAIMS_WRITE,
            action="DENIAL_RESOLVED_BY_REVERSAL",
            payload_by_pk={
                pk: {"payer": code, "reason": "reversed by the payer"} for pk, code in rows
            },  # fmt: skip
        )
    return len(rows)


def denials_void(*, actor: Actor, remittance_claim_ids: list[int], reason: str) -> int:
    """Void the workable denials a posting opened (its posting was reversed or unmatched)."""
    ids = list(
        Denial.objects.filter(
            remittance_claim_id__in=remittance_claim_ids, status__in=Denial.WORKABLE
        ).values_list("id", flat=True)
    )
    if ids:
        transition_apply_many(
            actor=actor,
            model=Denial,
            pks=ids,
            name="void",
            scope=S.CLAIMS_WRITE,
            kwargs_by_pk={pk: {"reason": reason} for pk in ids},
            payload_by_pk={pk: {"reason": reason} for pk in ids},
        )
    return len(ids)


def claims_settle(*, actor: Actor, claim_ids: set[int], denied_code: set[int] = frozenset()) -> int:
    """Set each claim's status from what is posted on it; returns how many changed."""
    ids = sorted(claim_ids)
    if not ids:
        return 0
    # One read of the claims' applications (set-based; the FK index), summed here.
    balance: dict[int, Decimal] = {}
    paid: dict[int, Decimal] = defaultdict(Decimal)
    # Locked (in id order) before their applications are read: a chunk posting on the same
    # claim in another worker waits, so the status is taken from every committed posting.
    claims = list(
        Claim.objects.select_for_update()
        .filter(pk__in=ids)
        .exclude(status=Claim.Status.CLOSED)
        .order_by("pk")
        .values_list("id", "status", "billed_amount")
    )
    for pk, _, billed in claims:
        balance[pk] = billed
    apps = list(
        PaymentApplication.objects.filter(claim_id__in=ids).values_list(
            "id", "claim_id", "kind", "amount", "reverses_id"
        )
    )
    # A reversal sits on the claim of what it reverses: no join needed to see what is reversed.
    reversed_ids = {rev for _, _, kind, _, rev in apps if kind == Kind.REVERSAL and rev}
    for pk, claim_id, kind, amount, _ in apps:
        if claim_id not in balance:
            continue
        balance[claim_id] += amount if kind == Kind.REVERSAL else -amount
        if kind == Kind.PAYMENT and pk not in reversed_ids:
            paid[claim_id] += amount
    denied = set(
        Denial.objects.filter(claim_id__in=ids, status__in=Denial.WORKABLE).values_list(
            "claim_id", flat=True
        )
    )
    changes: dict[int, dict] = {}
    for pk, status, billed in claims:
        new = rules.claim_status(
            balance=balance[pk],
            paid_net=paid[pk],
            reduced=balance[pk] < billed,
            open_denials=pk in denied,
            denied_code=pk in denied_code,
        )
        if new != status:
            changes[pk] = {"status": new}
    if changes:
        transition_apply_many(
            actor=actor,
            model=Claim,
            pks=list(changes),
            name="settle",
            scope=S.CLAIMS_WRITE,
            kwargs_by_pk=changes,
        )
    return len(changes)
