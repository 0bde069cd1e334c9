"""Claim build (SPEC 6, seed 003; issue 13, item 2): VALID charges -> BUILT claims, all or nothing.

One claim per (payer, member, claim_number) when the charges carry a claim number (the lines
keep their own service dates; the claim spans them), else one per (payer, member, service
date); a line per charge. Any unknown, not valid or already claimed charge id refuses the whole
build with per-charge errors. Claim numbers come from `ClaimsSettings.claim_counter`, advanced
under a row lock so concurrent builds never share a number.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import Member, Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record_many
from core.exceptions import DomainError
from core.models import Tenant
from core.selectors import granted_ids
from denials.charge_rules import claim_group_key
from denials.models import Charge, Claim, ClaimLine, ClaimsSettings

log = logging.getLogger(__name__)
NUMBER_FORMAT = "CLM-{:06d}"
_CHUNK = 5000  # ids per query: below every backend's limit on bound parameters


def claims_settings_for_update(tenant: Tenant) -> ClaimsSettings:
    """The tenant's claims settings row, created when missing, locked for this transaction."""
    ClaimsSettings.objects.get_or_create(tenant=tenant)
    return ClaimsSettings.objects.select_for_update().get(tenant=tenant)


def _charge_errors(charges: dict[str, Charge], wanted: list[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for cid in wanted:
        charge = charges.get(cid)
        if charge is None:
            errors[cid] = ["unknown charge id"]
        elif charge.status == Charge.Status.PENDING:
            errors[cid] = ["not validated yet (PENDING): validate the charges first"]
        elif charge.status == Charge.Status.INVALID:
            errors[cid] = ["the charge is INVALID", *charge.errors]
        elif charge.payer_id is None or charge.member_id is None:  # pragma: no cover - VALID
            errors[cid] = ["payer or member not resolved: validate the charges again"]
    return errors


def _wanted(charge_ids) -> list[str]:
    if not isinstance(charge_ids, list | tuple) or not charge_ids:
        raise DomainError(
            "chargeIds: give at least one charge id.",
            code="invalid",
            details={"chargeIds": ["give at least one charge id"]},
        )
    return list(dict.fromkeys(str(c).strip() for c in charge_ids))


def claims_build(*, actor: Actor, tenant: Tenant, charge_ids: list[str]) -> list[Claim]:
    """Build claims from VALID charges (the file's charge ids): all of them or none."""
    actor.require(S.CLAIMS_WRITE)
    if actor.tenant.pk != tenant.pk:
        raise DomainError("The actor does not belong to this tenant.", code="wrong_tenant")
    wanted = _wanted(charge_ids)
    payer_ids = granted_ids(actor, Payer)
    with transaction.atomic():
        charges: dict[str, Charge] = {}
        claimed: dict[str, str] = {}
        ordered_ids = sorted(wanted)  # one lock order (by charge id) for every build
        for i in range(0, len(ordered_ids), _CHUNK):
            qs = Charge.objects.select_for_update().filter(
                tenant=tenant, charge_id__in=ordered_ids[i : i + _CHUNK]
            )
            if payer_ids is not None:  # a charge of a payer the actor may not see is unknown
                qs = qs.filter(payer_id__in=payer_ids)
            found = {c.charge_id: c for c in qs.order_by("charge_id")}
            charges.update(found)
            claimed.update(
                ClaimLine.objects.filter(charge__in=[c.pk for c in found.values()]).values_list(
                    "charge__charge_id", "claim__number"
                )
            )
        errors = _charge_errors(charges, wanted)
        for cid, number in claimed.items():
            errors[cid] = [f"already on claim {number}"]
        if errors:
            raise DomainError(
                f"{len(errors)} of {len(wanted)} charges cannot be claimed; nothing was built.",
                code="charges_not_claimable",
                details={"charges": {cid: errors[cid] for cid in wanted if cid in errors}},
            )
        return _build(actor, tenant, [charges[cid] for cid in wanted])


def _build(actor: Actor, tenant: Tenant, charges: list[Charge]) -> list[Claim]:
    groups: dict[tuple, list[Charge]] = defaultdict(list)
    for charge in charges:
        key = claim_group_key(
            payer_id=charge.payer_id,
            member_id=charge.member_id,
            claim_number=charge.claim_number,
            service_date=charge.service_date,
        )
        groups[key].append(charge)
    ordered = sorted(groups.values(), key=lambda g: min(c.pk for c in g))
    settings_row = claims_settings_for_update(tenant)
    first = settings_row.claim_counter + 1
    settings_row.claim_counter += len(ordered)
    settings_row.save(update_fields=["claim_counter", "updated_at"])
    now = timezone.now()
    wanted_members = sorted({c.member_id for c in charges if c.member_id})
    member_ids: dict[int, str] = {}
    for i in range(0, len(wanted_members), _CHUNK):
        member_ids.update(
            Member.objects.filter(pk__in=wanted_members[i : i + _CHUNK]).values_list(
                "pk", "external_id"
            )
        )
    claims: list[Claim] = []
    for n, group in enumerate(ordered, start=first):
        number = NUMBER_FORMAT.format(n)
        claims.append(
            Claim(
                tenant=tenant,
                number=number,
                patient_control_number=group[0].claim_number or number,
                payer_id=group[0].payer_id,
                member_id=group[0].member_id,
                subscriber_id=member_ids.get(group[0].member_id, ""),
                authorization=next((c.authorization for c in group if c.authorization), ""),
                service_date=min(c.service_date for c in group),
                service_date_to=max(c.service_date for c in group),
                billed_amount=sum((c.amount for c in group), Decimal("0.00")),
                built_at=now,
                built_by=actor.user,
            )
        )
    Claim.objects.bulk_create(claims, batch_size=1000)
    if any(c.pk is None for c in claims):  # backends that do not return ids on bulk insert
        numbers = [c.number for c in claims]
        saved = {}
        for i in range(0, len(numbers), 1000):
            saved.update(
                Claim.objects.filter(tenant=tenant, number__in=numbers[i : i + 1000]).in_bulk(
                    field_name="number"
                )
            )
        claims = [saved[c.number] for c in claims]
    lines = []
    for claim, group in zip(claims, ordered, strict=True):
        for i, charge in enumerate(sorted(group, key=lambda c: (c.service_date, c.pk)), start=1):
            lines.append(
                ClaimLine(
                    tenant=tenant,
                    claim=claim,
                    charge=charge,
                    line_number=i,
                    service_date=charge.service_date,
                    code=charge.code,
                    modifier=charge.modifier,
                    units=charge.units,
                    amount=charge.amount,
                )
            )
    ClaimLine.objects.bulk_create(lines, batch_size=2000)
    audit_record_many(
        tenant=tenant,
        actor=actor,
        entries=[
            {
                "action": "Claim.build",
                "obj": claim,
                "payload": {
                    "number": claim.number,
                    "billed_amount": str(claim.billed_amount),
                    "charges": [c.charge_id for c in group],
                },
            }
            for claim, group in zip(claims, ordered, strict=True)
        ],
    )
    log.info("claims_built tenant=%s claims=%d charges=%d", tenant.slug, len(claims), len(charges))
    return claims


def claims_build_all_valid(*, actor: Actor, tenant: Tenant) -> list[Claim]:
    """Build claims from every VALID charge not yet on a claim (the nightly job; `--all-valid`)."""
    actor.require(S.CLAIMS_WRITE)
    qs = Charge.objects.filter(tenant=tenant, status=Charge.Status.VALID, claim_line__isnull=True)
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is not None:
        qs = qs.filter(payer_id__in=payer_ids)
    ids = list(qs.order_by("pk").values_list("charge_id", flat=True))
    if not ids:
        return []
    return claims_build(actor=actor, tenant=tenant, charge_ids=ids)
