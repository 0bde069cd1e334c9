"""Reads for the denial work queue and the denial detail (issue 14 item 7).

Everything is narrowed to the actor's tenant and, when payer grants narrow the member, to the
granted payers (SPEC 2). Age buckets are those of the aging report (`bucket_of`), counted in
days since the denial was opened.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.exceptions import NotFound
from core.models import AuditEntry, OverrideRequest
from core.selectors import granted_ids
from denials.models import CorrectionAttempt, Denial, PaymentApplication
from denials.services.reporting import AGING_BUCKETS, bucket_of

AGE_BUCKETS = tuple(label for label, _low, _high in AGING_BUCKETS)
DENIAL_LABEL = "denials.Denial"
CORRECTION_LABEL = "denials.CorrectionAttempt"
OVERRIDE_LABEL = "core.OverrideRequest"

# Readable meanings of the CARCs the demo files and the correction handlers meet (X12 CARC list).
CARC_LABELS = {
    "4": "Procedure code inconsistent with the modifier or a required modifier is missing",
    "15": "Authorization number missing, invalid or not for this service",
    "16": "Claim lacks information or has submission/billing errors",
    "18": "Exact duplicate claim/service",
    "22": "May be covered by another payer (coordination of benefits)",
    "29": "The time limit for filing has expired",
    "31": "Patient cannot be identified as our insured",
    "45": "Charge exceeds fee schedule/maximum allowable",
    "50": "Non-covered: not deemed a medical necessity",
    "96": "Non-covered charge(s)",
    "97": "Benefit included in the payment for another service",
    "109": "Claim not covered by this payer; send to the correct payer",
    "140": "Patient/insured health identification number and name do not match",
    "197": "Precertification/authorization/notification absent",
    "204": "Service not covered under the patient's current benefit plan",
    "251": "The attachment/other documentation was incomplete or deficient",
}


def carc_label(carc: str) -> str:
    """The readable meaning of a CARC ('' when not in the table)."""
    return CARC_LABELS.get(str(carc), "")


_MONEY = DecimalField(max_digits=14, decimal_places=2)
Kind = PaymentApplication.Kind


def _applied(**where) -> Coalesce:
    total = (
        PaymentApplication.objects.filter(**where)
        .order_by()
        .values("tenant")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=_MONEY), Value(0, output_field=_MONEY))


def with_open_amount(qs: QuerySet[Denial]) -> QuerySet[Denial]:
    """Denials annotated with `open_amount`: the denied amount less its write-offs, plus the
    reversals of those write-offs (a reopened write-off counts as open again)."""
    return qs.annotate(
        written_off=_applied(denial=OuterRef("pk"), kind=Kind.WRITEOFF),
        written_back=_applied(reverses__denial=OuterRef("pk"), kind=Kind.REVERSAL),
    ).annotate(open_amount=F("amount") - F("written_off") + F("written_back"))


def _visible(actor: Actor) -> QuerySet[Denial]:
    """Tenant and payer grants (the claim's payer)."""
    actor.require(S.CLAIMS_VIEW)
    qs = Denial.objects.filter(tenant=actor.tenant)
    ids = granted_ids(actor, Payer)
    return qs if ids is None else qs.filter(claim__payer_id__in=ids)


def _age_range(bucket: str, today: date) -> Q | None:
    """The created_at range of an age bucket (None: not a bucket)."""
    for label, low, high in AGING_BUCKETS:
        if label == bucket:
            # days = today - created day; a denial `low` days old was opened on today - low
            q = Q(created_at__date__lte=today - timedelta(days=low))
            if high is not None:
                q &= Q(created_at__date__gte=today - timedelta(days=high))
            return q
    return None


def denial_list(
    actor: Actor,
    *,
    payer: str = "",
    carc: str = "",
    group: str = "",
    age: str = "",
    status: str = "",
    assignee: str = "",
    today: date | None = None,
) -> QuerySet[Denial]:
    """Visible denials, newest first, narrowed by payer code, CARC, group, age bucket, status
    and assignee ("me", a username or "none")."""
    qs = with_open_amount(_visible(actor)).select_related(
        "claim__payer", "assignee", "remittance_claim__remittance"
    )
    if payer:
        qs = qs.filter(claim__payer__code=payer.strip())
    if carc:
        qs = qs.filter(carc=carc.strip())
    if group:
        qs = qs.filter(group_code=group.strip().upper())
    if status:
        qs = qs.filter(status=status.strip().upper())
    if age:
        q = _age_range(age, today or timezone.localdate())
        qs = qs.filter(q) if q is not None else qs.none()
    who = assignee.strip()
    if who == "none":
        qs = qs.filter(assignee__isnull=True)
    elif who == "me":
        qs = qs.filter(assignee=actor.user) if actor.user is not None else qs.none()
    elif who:
        qs = qs.filter(assignee__username=who)
    return qs.order_by("-created_at", "-id")


def denial_get(actor: Actor, pk: int) -> Denial:
    """One visible denial with its claim and remittance line, or NotFound."""
    qs = with_open_amount(_visible(actor)).select_related(
        "claim__payer", "claim__member", "assignee", "remittance_claim__remittance__payer"
    )
    try:
        return qs.get(pk=pk)
    except Denial.DoesNotExist:
        raise NotFound(f"Denial {pk} was not found.") from None


def age_days(denial: Denial, today: date | None = None) -> int:
    """Days since the denial was opened."""
    today = today or timezone.localdate()
    return (today - timezone.localdate(denial.created_at)).days


def denial_counts(actor: Actor, qs: QuerySet[Denial], today: date | None = None) -> dict:
    """Counters of a (filtered) list: by status, by age bucket and by group-CARC (top 8)."""
    today = today or timezone.localdate()
    by_status = Counter()
    by_age = Counter()
    by_carc = Counter()
    for status, created, group, carc in (
        qs.order_by()
        .values_list("status", "created_at", "group_code", "carc")
        .iterator(chunk_size=2000)
    ):
        by_status[status] += 1
        by_age[bucket_of((today - timezone.localdate(created)).days)] += 1
        by_carc[f"{group}-{carc}"] += 1
    return {
        "status": [(value, label, by_status[value]) for value, label in Denial.Status.choices],
        "age": [(label, by_age[label]) for label in AGE_BUCKETS],
        "carc": by_carc.most_common(8),
    }


def _kind(action: str) -> str:
    if action == "MANUAL_FLIP":
        return "flip"
    if action.startswith("CORRECTION"):
        return "correction"
    if action.startswith("OVERRIDE"):
        return "override"
    if action.startswith("DENIAL") or action.startswith("Denial."):
        return "transition"
    return "other"


def _request_ref(r: OverrideRequest) -> dict:
    """What a timeline row says of an override request (plain values, JSON-safe)."""
    return {
        "id": r.pk,
        "action": r.action,
        "status": r.status,
        "status_label": r.get_status_display(),
    }


def denial_timeline(actor: Actor, denial: Denial) -> list[dict]:
    """Every audit entry on the denial, its correction attempts and the override requests naming
    it, plus each request itself, oldest first; MANUAL_FLIP rows are kind "flip"."""
    actor.require(S.CLAIMS_VIEW)
    attempts = [
        str(pk)
        for pk in CorrectionAttempt.objects.filter(tenant=actor.tenant, denial=denial).values_list(
            "pk", flat=True
        )
    ]
    requests = list(
        OverrideRequest.objects.filter(tenant=actor.tenant, payload__denial=denial.pk)
        .select_related("requested_by")
        .order_by("requested_at", "id")
    )
    audit = (
        AuditEntry.objects.filter(tenant=actor.tenant)
        .filter(
            Q(object_type=DENIAL_LABEL, object_id=str(denial.pk))
            | Q(object_type=CORRECTION_LABEL, object_id__in=attempts)
            | Q(object_type=OVERRIDE_LABEL, object_id__in=[str(r.pk) for r in requests])
        )
        .order_by("seq")
    )
    by_pk = {str(r.pk): _request_ref(r) for r in requests}
    rows = []
    for e in audit:
        request = by_pk.get(e.object_id) if e.object_type == OVERRIDE_LABEL else None
        rows.append(
            {
                "at": e.at,
                "actor": e.actor_label,
                "action": e.action,
                "reason": e.reason,
                "payload": e.payload,
                "kind": "override" if request is not None else _kind(e.action),
                "seq": e.seq,
                "request": request,
            }
        )
    logged = {row["request"]["id"] for row in rows if row["request"] is not None}
    for r in requests:
        if r.pk in logged:
            continue  # its OVERRIDE_REQUESTED entry already stands for it
        rows.append(
            {
                "at": r.requested_at,
                "actor": r.requested_by.username if r.requested_by_id else "",
                "action": f"OVERRIDE_REQUEST {r.action}",
                "reason": r.reason,
                "payload": r.payload,
                "kind": "override",
                "seq": None,
                "request": _request_ref(r),
            }
        )
    rows.sort(key=lambda row: (row["at"], row["seq"] if row["seq"] is not None else 0))
    return rows


def pending_requests(actor: Actor, denial: Denial) -> list[OverrideRequest]:
    """Override requests naming the denial that still wait for a second person."""
    actor.require(S.CLAIMS_VIEW)
    return list(
        OverrideRequest.objects.filter(
            tenant=actor.tenant, payload__denial=denial.pk, status=OverrideRequest.Status.PENDING
        ).order_by("requested_at", "id")
    )


def assignees(actor: Actor) -> list[str]:
    """Usernames that have denials assigned in the tenant (the assignee filter's choices)."""
    actor.require(S.CLAIMS_VIEW)
    return sorted(
        set(
            Denial.objects.filter(tenant=actor.tenant, assignee__isnull=False)
            .values_list("assignee__username", flat=True)
            .distinct()
        )
    )
