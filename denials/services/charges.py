"""Charge validation (issue 13, item 1): PENDING | INVALID -> VALID | INVALID, every error named.

Run on load (CHARGES ingestion), from `POST /api/charges/validate`, the charges screen, the
`validate_charges` command and the nightly job (after upstream fixes: a member loaded since,
a payer created since).
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import transaction
from django.utils import timezone

from billing.models import Member, Payer
from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError
from core.models import Tenant
from core.transitions import transition_apply_many
from denials.charge_rules import ChargeFacts, charge_errors
from denials.models import Charge

log = logging.getLogger(__name__)
_CHUNK = 2000


def _lookups(tenant: Tenant, charges: list[Charge]) -> tuple[dict, dict]:
    codes = {c.payer_code.upper() for c in charges}
    payers = {
        p.code.upper(): p for p in Payer.objects.filter(tenant=tenant) if p.code.upper() in codes
    }
    member_ids = list({c.member_code for c in charges})
    members = {
        m.external_id: m
        for m in Member.objects.filter(tenant=tenant, external_id__in=member_ids).only(
            "id", "external_id", "tenant_id"
        )
    }
    return payers, members


def _validate_chunk(actor: Actor, tenant: Tenant, pks: list[int], today: date) -> tuple[int, int]:
    with transaction.atomic():
        charges = list(Charge.objects.filter(pk__in=pks, tenant=tenant))
        payers, members = _lookups(tenant, charges)
        kwargs, payloads = {}, {}
        unchanged = 0
        for charge in charges:
            payer = payers.get(charge.payer_code.upper())
            member = members.get(charge.member_code)
            facts = ChargeFacts(
                payer_code=charge.payer_code,
                payer_known=payer is not None,
                member_known=member is not None,
                service_date=charge.service_date,
                code=charge.code,
                modifier=charge.modifier,
                units=charge.units,
                amount=charge.amount,
            )
            errors = charge_errors(facts, today=today)
            if charge.status == Charge.Status.INVALID and errors == charge.errors:
                unchanged += 1  # the same errors again: no new state, no audit entry each night
                continue
            kwargs[charge.pk] = {"errors": errors, "member": member, "payer": payer}
            payloads[charge.pk] = {"charge_id": charge.charge_id, "errors": errors}
        done = transition_apply_many(
            actor=actor,
            model=Charge,
            pks=list(kwargs),
            name="validated",
            scope=S.CLAIMS_WRITE,
            kwargs_by_pk=kwargs,
            payload_by_pk=payloads,
        )
    valid = sum(1 for c in done if c.status == Charge.Status.VALID)
    return valid, len(done) - valid + unchanged


def charges_validate(
    *,
    actor: Actor,
    tenant: Tenant,
    charge_ids: list[str] | None = None,
    today: date | None = None,
) -> dict:
    """Validate charges (by the file's charge ids; default every PENDING or INVALID one).

    Charges already on a claim are left as they are. Returns counts: checked, valid, invalid,
    unknown (ids not found), claimed (ids already on a claim).
    """
    actor.require(S.CLAIMS_WRITE)
    if actor.tenant.pk != tenant.pk:
        raise DomainError("The actor does not belong to this tenant.", code="wrong_tenant")
    today = today or timezone.localdate()
    qs = Charge.objects.filter(tenant=tenant)
    unknown = claimed = 0
    if charge_ids is None:
        qs = qs.filter(
            status__in=[Charge.Status.PENDING, Charge.Status.INVALID], claim_line__isnull=True
        )
        pks = list(qs.order_by("pk").values_list("pk", flat=True))
    else:
        wanted = sorted({str(i) for i in charge_ids})
        found: dict[str, tuple] = {}
        for i in range(0, len(wanted), _CHUNK):  # below every backend's bound-parameter limit
            rows = qs.filter(charge_id__in=wanted[i : i + _CHUNK]).values_list(
                "charge_id", "pk", "claim_line"
            )
            found.update((cid, (pk, line)) for cid, pk, line in rows)
        unknown = len(wanted) - len(found)
        claimed = sum(1 for _, line in found.values() if line is not None)
        pks = sorted(pk for pk, line in found.values() if line is None)
    valid = invalid = 0
    for i in range(0, len(pks), _CHUNK):
        v, n = _validate_chunk(actor, tenant, pks[i : i + _CHUNK], today)
        valid, invalid = valid + v, invalid + n
    counts = {
        "checked": valid + invalid,
        "valid": valid,
        "invalid": invalid,
        "unknown": unknown,
        "claimed": claimed,
    }
    log.info(
        "charges_validated tenant=%s checked=%d valid=%d invalid=%d unknown=%d claimed=%d",
        tenant.slug,
        *counts.values(),
    )
    return counts
