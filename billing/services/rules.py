"""Rule versions: create, activate, retire, load from a file, and pick the one for a month."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.engine import ParamsInvalid, Rules, params_hash, parse_params
from billing.models import Payer, RuleVersion
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound
from core.transitions import transition_apply


def validate_params(params) -> None:
    """Refuse params that break the schema, naming every violation."""
    try:
        parse_params(params)
    except ParamsInvalid as exc:
        raise DomainError(
            f"params: {'; '.join(exc.violations)}", details={"params": exc.violations}
        ) from None


def engine_rules(rv: RuleVersion) -> Rules:
    """The engine's view of a stored rule version."""
    return Rules(rv.pk, rv.version, parse_params(rv.params), rv.params_hash)


def payer_get(actor: Actor, code: str) -> Payer:
    """A payer of the tenant by code, or a clear error."""
    payer = Payer.objects.filter(tenant=actor.tenant, code=(code or "").upper()).first()
    if payer is None:
        raise NotFound(f"payer: no payer with code '{code}'.")
    return payer


def rule_version_create(
    *, actor: Actor, payer: Payer, version: str, effective_from: date, params: dict
) -> RuleVersion:
    """A new DRAFT rule version (params validated)."""
    actor.require(S.BILLING_RULES_MANAGE)
    validate_params(params)
    version = str(version).strip()
    if not version:
        raise DomainError("version: a version label is required.")
    try:
        with transaction.atomic():
            rv = RuleVersion.objects.create(
                tenant=actor.tenant,
                payer=payer,
                version=version,
                effective_from=effective_from,
                params=params,
                params_hash=params_hash(params),
                created_by=actor.user,
            )
            audit_record(
                tenant=actor.tenant,
                actor=actor,
                action="RULE_VERSION_CREATED",
                obj=rv,
                payload={
                    "payer": payer.code,
                    "version": version,
                    "effective_from": effective_from,
                    "params_hash": rv.params_hash,
                    "params": params,
                },
            )
    except IntegrityError:
        raise Conflict(f"Payer {payer.code} already has a rule version '{version}'.") from None
    return rv


def rule_version_update(
    *, actor: Actor, rule_version_id: int, params: dict, effective_from: date | None = None
) -> RuleVersion:
    """Change a DRAFT's params (active and retired versions never change)."""
    actor.require(S.BILLING_RULES_MANAGE)
    validate_params(params)
    with transaction.atomic():
        rv = (
            RuleVersion.objects.select_for_update()
            .filter(pk=rule_version_id, tenant=actor.tenant)
            .first()
        )
        if rv is None:
            raise NotFound(f"Rule version {rule_version_id} does not exist.")
        if rv.status != RuleVersion.Status.DRAFT:
            raise Conflict(
                f"Rule version {rv.version} of {rv.payer.code} is {rv.status}; only drafts change. "
                "Create a new version instead."
            )
        before = rv.params_hash
        rv.params, rv.params_hash = params, params_hash(params)
        if effective_from:
            rv.effective_from = effective_from
        rv.save(update_fields=["params", "params_hash", "effective_from"])
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="RULE_VERSION_CHANGED",
            obj=rv,
            payload={"params_hash": {"from": before, "to": rv.params_hash}, "params": params},
        )
    return rv


def rule_version_activate(*, actor: Actor, rule_version_id: int) -> RuleVersion:
    """DRAFT -> ACTIVE."""
    return transition_apply(
        actor=actor,
        model=RuleVersion,
        pk=rule_version_id,
        name="activate",
        scope=S.BILLING_RULES_MANAGE,
        action="RULE_VERSION_ACTIVATED",
    )


def rule_version_retire(*, actor: Actor, rule_version_id: int) -> RuleVersion:
    """ACTIVE -> RETIRED."""
    return transition_apply(
        actor=actor,
        model=RuleVersion,
        pk=rule_version_id,
        name="retire",
        scope=S.BILLING_RULES_MANAGE,
        action="RULE_VERSION_RETIRED",
    )


def rule_version_for_month(
    payer_id: int, month: date, today: date | None = None
) -> RuleVersion | None:
    """The ACTIVE (or, for past months, RETIRED) version with the latest effective_from <= month."""
    today = today or timezone.localdate()
    month = month.replace(day=1)
    statuses = [RuleVersion.Status.ACTIVE]
    if month < today.replace(day=1):
        statuses.append(RuleVersion.Status.RETIRED)
    return (
        RuleVersion.objects.filter(
            payer_id=payer_id, status__in=statuses, effective_from__lte=month
        )
        .order_by("-effective_from", "-id")
        .first()
    )


_STATUS_PATH = {
    RuleVersion.Status.DRAFT: [],
    RuleVersion.Status.ACTIVE: ["activate"],
    RuleVersion.Status.RETIRED: ["activate", "retire"],
}


def rules_load(*, actor: Actor, entries: list[dict]) -> list[str]:
    """Load rule versions from `load_rules` entries; idempotent. Returns one line per entry."""
    actor.require(S.BILLING_RULES_MANAGE)
    lines = []
    for i, entry in enumerate(entries):
        where = f"entry {i + 1}"
        try:
            payer_info = entry["payer"]
            code = str(payer_info["code"]).strip().upper()
            version = str(entry["version"]).strip()
            effective = date.fromisoformat(str(entry["effective_from"]))
            status = str(entry.get("status", "ACTIVE")).upper()
            params = entry["params"]
        except (KeyError, TypeError, ValueError) as exc:
            raise DomainError(
                f"{where}: expected {{payer: {{code, name}}, version, effective_from: YYYY-MM-DD, "
                f"status, params}} ({exc.__class__.__name__}: {exc})"
            ) from None
        if status not in _STATUS_PATH:
            raise DomainError(f"{where}: status must be DRAFT, ACTIVE or RETIRED, not {status}.")
        with transaction.atomic():
            payer, created = Payer.objects.get_or_create(
                tenant=actor.tenant, code=code, defaults={"name": payer_info.get("name") or code}
            )
            if created:
                audit_record(
                    tenant=actor.tenant,
                    actor=actor,
                    action="PAYER_CREATED",
                    obj=payer,
                    payload={"code": code, "name": payer.name},
                )
            rv = RuleVersion.objects.filter(payer=payer, version=version).first()
            try:
                if rv is None:
                    rv = rule_version_create(
                        actor=actor,
                        payer=payer,
                        version=version,
                        effective_from=effective,
                        params=params,
                    )
                    action = "created"
                elif rv.params_hash == params_hash(params):
                    action = "unchanged"
                elif rv.status == RuleVersion.Status.DRAFT:
                    rv = rule_version_update(
                        actor=actor, rule_version_id=rv.pk, params=params, effective_from=effective
                    )
                    action = "updated"
                else:
                    raise Conflict(
                        f"version {version} of {code} is {rv.status} and its params differ; "
                        "add a new version instead"
                    )
            except DomainError as exc:
                raise DomainError(f"{where}: {exc.message}", details=exc.details) from None
            for step in _STATUS_PATH[status][len(_STATUS_PATH.get(rv.status, [])) :]:
                rv = transition_apply(
                    actor=actor,
                    model=RuleVersion,
                    pk=rv.pk,
                    name=step,
                    scope=S.BILLING_RULES_MANAGE,
                    action=f"RULE_VERSION_{'ACTIVATED' if step == 'activate' else 'RETIRED'}",
                )
        lines.append(f"{code} v{version}: {action}, {rv.status}")
    return lines
