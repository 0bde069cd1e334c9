"""837P export: BUILT claims written into one interchange and marked SUBMITTED, all or nothing."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.selectors import visible_payers
from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError
from core.models import Tenant
from core.transitions import transition_apply_many
from denials import x12_837
from denials.models import Claim, ClaimsSettings, Interchange837
from denials.services.claims import claims_settings_for_update

log = logging.getLogger(__name__)

MAX_CLAIMS = 50_000


def _provider(cs: ClaimsSettings) -> x12_837.Provider:
    return x12_837.Provider(
        name=cs.provider_name,
        npi=cs.provider_npi,
        tax_id=cs.provider_tax_id,
        address=cs.provider_address,
        city=cs.provider_city,
        state=cs.provider_state,
        zip=cs.provider_zip,
        contact_name=cs.contact_name,
        contact_phone=cs.contact_phone,
    )


def _other_payer(claim: Claim) -> x12_837.OtherPayer | None:
    """The primary's adjudication a secondary claim reports (loops 2320/2330A/2330B)."""
    primary = claim.primary_claim
    if claim.payer_sequence == "P" or primary is None:
        return None
    return x12_837.OtherPayer(
        payer_name=primary.payer.name,
        payer_id=primary.payer.x12_payer_id or primary.payer.code,
        member_id=primary.subscriber_id or primary.member.external_id,
        last_name=primary.member.last_name,
        first_name=primary.member.first_name,
        paid=claim.prior_payer_paid,
        adjustments=[
            (str(a.get("group", "")), str(a.get("carc", "")), Decimal(str(a.get("amount", "0"))))
            for a in claim.prior_adjustments or []
            if isinstance(a, dict)
        ],
    )


def _claim_out(claim: Claim) -> x12_837.Claim:
    member, payer = claim.member, claim.payer
    return x12_837.Claim(
        patient_control_number=claim.patient_control_number or claim.number,
        billed_amount=claim.billed_amount,
        payer_name=payer.name,
        payer_id=payer.x12_payer_id or payer.code,
        # the id the claim is sent under (a member-id correction rebills under the new one)
        member_id=claim.subscriber_id or member.external_id,
        last_name=member.last_name,
        first_name=member.first_name,
        birth_date=member.birth_date,
        lines=[
            x12_837.Line(
                code=line.code,
                amount=line.amount,
                units=line.units,
                service_date=line.service_date,
                modifier=line.modifier,
            )
            for line in claim.lines.all()
        ],
        frequency_code=claim.frequency_code or "1",
        original_reference=claim.original_reference,
        authorization=claim.authorization,
        payer_sequence=claim.payer_sequence or "P",
        other=_other_payer(claim),
    )


def _select_claims(
    actor: Actor, *, claim_numbers: list[str] | None, all_built: bool
) -> list[Claim]:
    """The claims to export, locked; refuses unknown, not-BUILT or oversized claims, naming each."""
    qs = (
        Claim.objects.select_for_update(of=("self",))
        .filter(tenant=actor.tenant, payer__in=visible_payers(actor))
        .select_related("payer", "member", "primary_claim__payer", "primary_claim__member")
        .prefetch_related("lines")
        .order_by("pk")
    )
    if all_built and claim_numbers:
        raise DomainError(
            "Name claims or export all built claims, not both.",
            code="invalid",
            details={"all_built": ["name claims or ask for all built, not both"]},
        )
    if all_built:
        # one interchange stays a size a clearinghouse takes; the rest go in the next export
        claims = list(qs.filter(status=Claim.Status.BUILT)[:MAX_CLAIMS])
    else:
        numbers = list(dict.fromkeys(n.strip() for n in claim_numbers or [] if n.strip()))
        if not numbers:
            raise DomainError(
                "Name the claims to export (claim numbers) or export all built claims.",
                code="nothing_to_export",
                details={"claim": ["at least one claim number is required"]},
            )
        found = {c.number: c for c in qs.filter(number__in=numbers)}
        errors = {}
        for number in numbers:
            claim = found.get(number)
            if claim is None:
                errors[number] = "no such claim"
            elif claim.status != Claim.Status.BUILT:
                errors[number] = f"it is {claim.status}; only BUILT claims are exported"
        if errors:
            raise DomainError(
                f"{len(errors)} of {len(numbers)} claims cannot be exported; nothing was exported.",
                code="claims_not_exportable",
                details={"claims": errors},
            )
        claims = [found[n] for n in numbers]
    if not claims:
        raise DomainError(
            "There are no built claims to export.", code="nothing_to_export", details={}
        )
    _check_lines(claims)
    return claims


def _check_lines(claims: list[Claim]) -> None:
    """An 837P claim carries 1 to 50 service lines (loop 2400): refuse others, naming each."""
    most = x12_837.MAX_LINES_PER_CLAIM
    errors = {
        c.number: f"it has {n} lines; an 837P claim has 1 to {most}"
        for c in claims
        if not 1 <= (n := len(c.lines.all())) <= most
    }
    if errors:
        raise DomainError(
            f"{len(errors)} claims cannot go in an 837P file as they are; nothing was exported.",
            code="claims_not_exportable",
            details={"claims": errors},
        )


def claims_export_837(
    *,
    actor: Actor,
    tenant: Tenant,
    claim_numbers: list[str] | None = None,
    all_built: bool = False,
) -> Interchange837:
    """Write BUILT claims into one 837P interchange; they become SUBMITTED (all or nothing)."""
    actor.require(S.CLAIMS_WRITE)
    if tenant.pk != actor.tenant.pk:
        raise DomainError("The actor does not act in this tenant.", code="wrong_tenant")
    with transaction.atomic():
        cs = claims_settings_for_update(tenant)
        claims = _select_claims(actor, claim_numbers=claim_numbers, all_built=all_built)
        cs.interchange_control_number = cs.interchange_control_number % 999_999_999 + 1
        cs.group_control_number = cs.group_control_number % 999_999_999 + 1
        cs.save(update_fields=["interchange_control_number", "group_control_number", "updated_at"])
        now = timezone.now()
        env = x12_837.Envelope(
            sender_id=cs.submitter_id,
            receiver_id=cs.receiver_id,
            receiver_name=cs.receiver_name,
            interchange_control_number=cs.interchange_control_number,
            group_control_number=cs.group_control_number,
            created=now,
            usage=cs.usage_indicator,
        )
        content = x12_837.write_837(env, _provider(cs), [_claim_out(c) for c in claims])
        icn = f"{cs.interchange_control_number:09d}"
        interchange = Interchange837.objects.create(
            tenant=tenant,
            interchange_control_number=icn,
            group_control_number=str(cs.group_control_number),
            claim_count=len(claims),
            total_billed=sum((c.billed_amount for c in claims), Decimal("0")),
            content=content,
            created_at=now,
            created_by=actor.user,
        )
        transition_apply_many(
            actor=actor,
            model=Claim,
            pks=[c.pk for c in claims],
            name="submit",
            scope=S.CLAIMS_WRITE,
            kwargs_by_pk={c.pk: {"at": now, "interchange": icn} for c in claims},
            payload_by_pk={c.pk: {"interchange": icn} for c in claims},
        )
    log.info(
        "claims_export_837 tenant=%s interchange=%s claims=%d",
        tenant.slug,
        icn,
        len(claims),
    )
    return interchange
