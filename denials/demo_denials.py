"""The denial work part of the demo (issue 14, item 10), after the remittances are posted.

A second remittance from the payer of the submitted demo claims denies several of them (CARCs
the correction handlers know: 197, 16, 4, 29, 31, 22), posted like any 835. Then people work
them through the services, as they would on the screens: one in progress (assigned to
demo-ops), one resolved, one written off, one written off and reopened with a reason, one moved
by a manual flip. Finally two requests wait for a second person: dual control on
billing.denial.write is switched on for the moment it takes to ask (a reopen and a flip), then
the tenant's policy is put back, so the later demo steps run as before.
Idempotent: everything happens once, when the file is first loaded.
"""

from __future__ import annotations

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant

ORDER = 46
FILENAME = "demo-remittance-denials.csv"
TRACE = "DEMO-EFT-DENIALS"
CARCS = ("197", "16", "4", "29", "31", "22", "50", "18")


def _claims(tenant: Tenant) -> list:
    """Submitted claims without any remittance yet, first payer with most of them."""
    from django.db.models import Count

    from denials.models import Claim

    free = Claim.objects.filter(tenant=tenant, status="SUBMITTED", remittance_claims__isnull=True)
    top = free.values("payer_id").annotate(n=Count("id")).order_by("-n", "payer_id").first()
    if top is None:
        return []
    return list(
        free.filter(payer_id=top["payer_id"]).select_related("payer", "member").order_by("pk")
    )[: len(CARCS)]


def denials_remittance(tenant: Tenant) -> bytes | None:
    """A CSV remittance denying each chosen claim in full under its own CARC (status 4)."""
    from denials.remit_rows import COLUMNS

    claims = _claims(tenant)
    if len(claims) < 5:
        return None
    lines = [",".join(COLUMNS)]
    for i, (claim, carc) in enumerate(zip(claims, CARCS, strict=False), start=1):
        row = {
            "payer_code": claim.payer.code,
            "trace_number": TRACE,
            "payment_amount": "0.00",
            "payment_method": "NON",
            "payment_date": claim.service_date.isoformat(),
            "patient_control_number": claim.patient_control_number,
            "status_code": "4",
            "charge_amount": str(claim.billed_amount),
            "paid_amount": "0.00",
            "payer_claim_control_number": f"DEMO-DEN-{i:04d}",
            "member_id": claim.member.external_id,
            "service_date": claim.service_date.isoformat(),
            "service_date_to": claim.service_date_to.isoformat(),
            "adjustments": f"CO-{carc}:{claim.billed_amount}",
        }
        # plain values (no comma, quote or formula sign), as a partner would write them
        lines.append(",".join(row.get(column, "") for column in COLUMNS))
    return ("\n".join(lines) + "\n").encode()


def _actor(tenant: Tenant, username: str) -> Actor:
    from django.contrib.auth import get_user_model

    return Actor(tenant=tenant, user=get_user_model().objects.get(username=username))


def _work_them(tenant: Tenant, denials: list) -> list[str]:
    """Each demo state through the services, by the demo users."""
    from denials.services import denial_work as svc

    ops, manager = _actor(tenant, "demo-ops"), _actor(tenant, "demo-manager")
    first, second, third, fourth, fifth, *rest = denials
    svc.denial_work(actor=ops, denial_id=first.pk)
    svc.denial_work(actor=manager, denial_id=second.pk)
    svc.denial_resolve(actor=manager, denial_id=second.pk, reason="paid on appeal")
    svc.denial_write_off(actor=manager, denial_id=third.pk, reason="below the appeal threshold")
    svc.denial_write_off(actor=manager, denial_id=fourth.pk, reason="member could not be found")
    svc.denial_reopen(
        actor=manager, denial_id=fourth.pk, reason="payer found the member under a new id"
    )
    svc.denial_flip(
        actor=manager,
        denial_id=fifth.pk,
        to="RESOLVED",
        reason_code="out_of_band",
        reason="resolved by phone with the payer, no 835 will follow",
    )
    said = ["in progress, resolved, written off, reopened, flipped"]
    said += _pending(tenant, rest, third)
    return said


def _pending(tenant: Tenant, rest: list, written_off) -> list[str]:
    """A reopen and a flip waiting for approval, asked under dual control switched on briefly."""
    from core.models import TenantPolicy
    from core.scopes import BILLING_DENIAL_WRITE
    from core.services import tenant_policy_update
    from denials.services import denial_work as svc

    owner, ops = _actor(tenant, "demo-owner"), _actor(tenant, "demo-ops")
    policy = TenantPolicy.objects.filter(tenant=tenant).first()
    before = list(policy.dual_control_scopes) if policy else []
    tenant_policy_update(actor=owner, dual_control_scopes=sorted({*before, BILLING_DENIAL_WRITE}))
    try:
        asked = [
            svc.denial_reopen(
                actor=ops, denial_id=written_off.pk, reason="appeal letter arrived by post"
            )
        ]
        if rest:
            asked.append(
                svc.denial_flip(
                    actor=ops,
                    denial_id=rest[0].pk,
                    to="WRITTEN_OFF",
                    reason_code="migration_cleanup",
                    reason="closed in the old system before the import",
                )
            )
    finally:
        tenant_policy_update(actor=owner, dual_control_scopes=before)
    return [f"{len(asked)} override requests waiting"]


def load_denials_demo(tenant: Tenant) -> str:
    """The denials remittance posted and its denials taken through every state."""
    from denials.demo_remit import _upload
    from denials.models import Denial
    from ingestion.models import Artifact

    if Artifact.objects.filter(tenant=tenant, kind="REMITTANCE", filename=FILENAME).exists():
        return f"{FILENAME} already loaded"
    content = denials_remittance(tenant)
    if content is None:
        return "not enough submitted claims to deny"
    said = _upload(tenant, FILENAME, content)
    if said.endswith("already loaded"):
        return said
    denials = list(
        Denial.objects.filter(
            tenant=tenant, remittance_claim__remittance__trace_number=TRACE, status="OPEN"
        ).order_by("remittance_claim__row_number", "pk")
    )
    if len(denials) < 5:
        return f"{said}; only {len(denials)} denials opened"
    return "; ".join([said, *_work_them(tenant, denials)])


def register() -> None:
    """Add denials in every state to the demo."""
    register_demo_loader("denials-work", ORDER, load_denials_demo)
