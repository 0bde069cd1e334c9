"""Coordination of benefits (SPEC 6): coverages, a member's paying order and COB overrides.

The order comes from the pure ladder (denials.cob) over the member's coverages; an active
CobOverride wins until removed. Setting and removing an override are override actions
(`billing.cob.override`, a reason) through core's dual control: when the tenant lists the
scope, they wait as OverrideRequests for a second person. Audit payloads name the member by
its pk only: the member id is PHI.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from billing.models import Member, Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from core.overrides import OverrideAction, override_people, override_perform, register_override
from core.selectors import granted_ids
from denials import cob
from denials.models import CobOverride, Coverage

OVERRIDE_SET = "denials.cob_override_set"
OVERRIDE_REMOVE = "denials.cob_override_remove"


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(f"{field}: {message}", code="invalid", details={field: [message]})


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: a reason is required.", code="reason_required")
    return reason


def member_visible(actor: Actor, member_pk) -> Member:
    """A member of the actor's tenant it may see (a coverage with a granted payer), or 404."""
    qs = Member.objects.filter(tenant=actor.tenant, pk=member_pk)
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is not None:
        qs = qs.filter(
            pk__in=Coverage.objects.filter(tenant=actor.tenant, payer_id__in=payer_ids).values(
                "member_id"
            )
        )
    member = qs.first()
    if member is None:
        raise NotFound(f"Member {member_pk} does not exist.")
    return member


def coverage_list(actor: Actor, *, member_code: str = ""):
    """Coverages of the tenant, payer grants applied; optionally one member's (by member id)."""
    actor.require(S.CLAIMS_VIEW)
    qs = Coverage.objects.filter(tenant=actor.tenant).select_related("payer", "member")
    payer_ids = granted_ids(actor, Payer)
    if payer_ids is not None:
        qs = qs.filter(payer_id__in=payer_ids)
    if member_code:
        qs = qs.filter(member__external_id=member_code.strip())
    return qs


def _validated(member_code, payer_code, kind, employer_size, effective, termination) -> None:
    if kind not in cob.KINDS:
        raise _invalid("kind", f"expected one of {', '.join(cob.KINDS)}")
    if employer_size is not None and (not isinstance(employer_size, int) or employer_size < 0):
        raise _invalid("employer_size", "expected a whole number of employees, 0 or more")
    if not isinstance(effective, date):
        raise _invalid("effective", "a day (YYYY-MM-DD) is required")
    if termination is not None and termination < effective:
        raise _invalid("termination", "the last covered day cannot be before the effective day")
    if not (member_code or "").strip():
        raise _invalid("member_id", "a member id is required")
    if not (payer_code or "").strip():
        raise _invalid("payer_code", "a payer code is required")


def coverage_upsert(
    *,
    actor: Actor,
    member_code: str,
    payer_code: str,
    kind: str,
    employer_size: int | None,
    active_employment: bool,
    effective: date,
    termination: date | None,
) -> Coverage:
    """Record a member's coverage with a payer (one per member, payer and effective day)."""
    actor.require(S.CLAIMS_WRITE)
    _validated(member_code, payer_code, kind, employer_size, effective, termination)
    member = Member.objects.filter(tenant=actor.tenant, external_id=member_code.strip()).first()
    if member is None:  # the member id is PHI: the message names the field, not the value
        raise _invalid("member_id", "no member with this id in the tenant")
    payer_ids = granted_ids(actor, Payer)
    payers = Payer.objects.filter(tenant=actor.tenant, code=payer_code.strip().upper())
    if payer_ids is not None:
        payers = payers.filter(pk__in=payer_ids)
    payer = payers.first()
    if payer is None:
        raise _invalid("payer_code", f"no payer '{payer_code.strip()[:30]}' in the tenant")
    values = {
        "kind": kind,
        "employer_size": employer_size,
        "active_employment": bool(active_employment),
        "termination": termination,
    }
    with transaction.atomic():
        coverage, created = Coverage.objects.select_for_update().get_or_create(
            tenant=actor.tenant, member=member, payer=payer, effective=effective, defaults=values
        )
        if not created:
            for name, value in values.items():
                setattr(coverage, name, value)
            coverage.save()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="COVERAGE_CREATED" if created else "COVERAGE_UPDATED",
            obj=coverage,
            payload={
                "member": member.pk,
                "payer": payer.code,
                "kind": kind,
                "employer_size": employer_size,
                "active_employment": bool(active_employment),
                "effective": effective.isoformat(),
                "termination": termination.isoformat() if termination else None,
            },
        )
    return coverage


def facts_of(member: Member) -> list[cob.CoverageFact]:
    """The ladder's view of a member's coverages."""
    return [
        cob.CoverageFact(
            c.payer.code, c.kind, c.employer_size, c.active_employment, c.effective, c.termination
        )
        for c in Coverage.objects.filter(member=member).select_related("payer")
    ]


def active_override(member: Member) -> CobOverride | None:
    """The member's override in force, if any."""
    return CobOverride.objects.filter(member=member, active=True).first()


def cob_resolve(member: Member, as_of: date) -> dict:
    """The order on a day (override applied) without scope checks: for services that checked."""
    ladder = cob.cob_order(facts_of(member), as_of)
    override = active_override(member)
    order, reasons = ladder.order, list(ladder.reasons)
    if override is not None:
        got = cob.apply_override(ladder.order, override.ordering)
        order = got.order
        reasons.insert(
            0,
            f"A COB override sets the order ({', '.join(override.ordering)}): {override.reason}",
        )
        if got.not_active:
            reasons.append(
                "The override names payers with no active coverage, left out: "
                f"{', '.join(got.not_active)}."
            )
    return {"order": order, "ladder": ladder.order, "reasons": reasons, "override": override}


def override_dict(override: CobOverride | None) -> dict | None:
    """What a reader sees of an override: ordering, reason, who, when, approved by."""
    if override is None:
        return None
    return {
        "id": override.pk,
        "ordering": list(override.ordering),
        "reason": override.reason,
        "created_by": override.created_by.get_username() if override.created_by else None,
        "approved_by": override.approved_by.get_username() if override.approved_by else None,
        "created_at": override.created_at,
    }


def member_cob(*, actor: Actor, member: Member, as_of: date | None = None) -> dict:
    """A member's paying order on a day (today by default): {"order", "reasons", "override"}."""
    actor.require(S.CLAIMS_VIEW)
    if member.tenant_id != actor.tenant.pk:
        raise NotFound(f"Member {member.pk} does not exist.")
    got = cob_resolve(member, as_of or timezone.localdate())
    return {
        "order": got["order"],
        "reasons": got["reasons"],
        "override": override_dict(got["override"]),
    }


def _ordering(actor: Actor, ordering) -> list[str]:
    if not isinstance(ordering, list | tuple) or not all(isinstance(c, str) for c in ordering):
        raise _invalid("ordering", "expected a list of payer codes")
    codes = [c.strip().upper() for c in ordering]
    if len(codes) < 2:
        raise _invalid("ordering", "name at least two payers, primary first")
    if len(set(codes)) != len(codes):
        raise _invalid("ordering", "a payer appears twice")
    known = set(
        Payer.objects.filter(tenant=actor.tenant, code__in=codes).values_list("code", flat=True)
    )
    unknown = [c[:30] for c in codes if c not in known]
    if unknown:
        raise _invalid("ordering", f"unknown payer codes: {', '.join(unknown)}")
    return codes


def _execute_set(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by) -> dict:
    """Put an override in force (at once, or when a second person approved it)."""
    member = Member.objects.filter(tenant=actor.tenant, pk=payload.get("member")).first()
    if member is None:
        raise NotFound(f"Member {payload.get('member')} does not exist.")
    ordering = _ordering(actor, payload.get("ordering"))
    Member.objects.select_for_update().filter(pk=member.pk).first()  # one override at a time
    previous = active_override(member)
    now = timezone.now()
    if previous is not None:
        previous.active = False
        previous.removed_by, previous.removed_at = requested_by, now
        previous.removed_reason = f"replaced: {reason}"
        previous.save(update_fields=["active", "removed_by", "removed_at", "removed_reason"])
    override = CobOverride.objects.create(
        tenant=actor.tenant,
        member=member,
        ordering=ordering,
        reason=reason,
        created_by=requested_by,
        approved_by=approved_by,
        created_at=now,
    )
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="COB_OVERRIDE_SET",
        obj=override,
        reason=reason,
        reason_required=True,
        payload={
            "member": member.pk,
            "ordering": ordering,
            "payer": ordering[0],
            "replaces": previous.pk if previous else None,
            **override_people(requested_by, approved_by),
        },
    )
    return {"cob_override": override.pk, "member": member.pk}


def _execute_remove(*, actor: Actor, payload: dict, reason: str, requested_by, approved_by) -> dict:
    """Take the member's override out of force: the ladder decides again."""
    member = Member.objects.filter(tenant=actor.tenant, pk=payload.get("member")).first()
    if member is None:
        raise NotFound(f"Member {payload.get('member')} does not exist.")
    Member.objects.select_for_update().filter(pk=member.pk).first()
    override = active_override(member)
    if override is None:
        raise Conflict("This member has no COB override in force.", code="no_override")
    override.active = False
    override.removed_by, override.removed_at = requested_by, timezone.now()
    override.removed_reason = reason
    override.save(update_fields=["active", "removed_by", "removed_at", "removed_reason"])
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="COB_OVERRIDE_REMOVED",
        obj=override,
        reason=reason,
        reason_required=True,
        payload={
            "member": member.pk,
            "ordering": list(override.ordering),
            "payer": override.ordering[0] if override.ordering else None,
            **override_people(requested_by, approved_by),
        },
    )
    return {"cob_override": override.pk, "member": member.pk}


def _describe_set(payload: dict) -> str:
    return (
        f"Set the COB order of member #{payload.get('member')} to "
        f"{', '.join(payload.get('ordering') or [])}"
    )


def _describe_remove(payload: dict) -> str:
    return f"Remove the COB override of member #{payload.get('member')}"


def register() -> None:
    """Offer the COB override actions to core's dual-control machinery."""
    register_override(
        OverrideAction(OVERRIDE_SET, S.BILLING_COB_OVERRIDE, _execute_set, _describe_set)
    )
    register_override(
        OverrideAction(OVERRIDE_REMOVE, S.BILLING_COB_OVERRIDE, _execute_remove, _describe_remove)
    )


def cob_override_set(*, actor: Actor, member: Member, ordering: list[str], reason: str):
    """Set a member's paying order by hand; returns the CobOverride, or the pending request."""
    actor.require(S.BILLING_COB_OVERRIDE)
    reason = _reason(reason)
    if member.tenant_id != actor.tenant.pk:
        raise NotFound(f"Member {member.pk} does not exist.")
    codes = _ordering(actor, ordering)
    with transaction.atomic():
        outcome = override_perform(
            actor=actor,
            action=OVERRIDE_SET,
            payload={"member": member.pk, "ordering": codes},
            reason=reason,
        )
    if not outcome.executed:
        return outcome.request
    return CobOverride.objects.get(pk=outcome.result["cob_override"])


def cob_override_remove(*, actor: Actor, member: Member, reason: str):
    """Remove a member's override (the ladder decides again); returns it, or the request."""
    actor.require(S.BILLING_COB_OVERRIDE)
    reason = _reason(reason)
    if member.tenant_id != actor.tenant.pk:
        raise NotFound(f"Member {member.pk} does not exist.")
    if active_override(member) is None:
        raise Conflict("This member has no COB override in force.", code="no_override")
    with transaction.atomic():
        outcome = override_perform(
            actor=actor, action=OVERRIDE_REMOVE, payload={"member": member.pk}, reason=reason
        )
    if not outcome.executed:
        return outcome.request
    return CobOverride.objects.get(pk=outcome.result["cob_override"])
