"""Payers: create and change them (code, name, active, timely filing days), audited."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from billing.models import Payer
from billing.selectors import visible_payers
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,29}$")
MAX_FILING_DAYS = 3650


def _clean(
    *, code: Any = None, name: Any = None, active: Any = None, timely_filing_days: Any = None
) -> dict:
    """The given fields cleaned, or DomainError naming each bad field (details: field -> text)."""
    out: dict = {}
    errors: dict[str, str] = {}
    if code is not None:
        code = str(code).strip().upper()
        if not CODE_RE.match(code):
            errors["code"] = "expected 1 to 30 letters, digits, '-' or '_' (e.g. NORTHWIND)"
        out["code"] = code
    if name is not None:
        name = str(name).strip()
        if not name or len(name) > 200:
            errors["name"] = "expected a name of 1 to 200 characters"
        out["name"] = name
    if active is not None:
        if not isinstance(active, bool):
            errors["active"] = "expected true or false"
        out["active"] = active
    if timely_filing_days is not None:
        days = timely_filing_days
        if isinstance(days, str) and days.strip().isdigit():
            days = int(days.strip())
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_FILING_DAYS:
            errors["timely_filing_days"] = f"expected whole days from 1 to {MAX_FILING_DAYS}"
        out["timely_filing_days"] = days
    if errors:
        raise DomainError(
            "; ".join(f"{k}: {v}" for k, v in errors.items()), code="invalid", details=errors
        )
    return out


def payer_create(
    *, actor: Actor, code: str, name: str, active: bool = True, timely_filing_days: int = 365
) -> Payer:
    """A new payer of the tenant (its code unique in the tenant)."""
    actor.require(S.BILLING_RULES_MANAGE)
    fields = _clean(code=code, name=name, active=active, timely_filing_days=timely_filing_days)
    try:
        with transaction.atomic():
            payer = Payer.objects.create(tenant=actor.tenant, **fields)
            audit_record(
                tenant=actor.tenant, actor=actor, action="PAYER_CREATED", obj=payer, payload=fields
            )
    except IntegrityError:
        raise Conflict(
            f"code: a payer with code {fields['code']} already exists.",
            details={"code": f"a payer with code {fields['code']} already exists"},
        ) from None
    return payer


def payer_update(*, actor: Actor, payer_id: int, **changes: Any) -> Payer:
    """Change a payer's name, active flag or timely filing days (the code stays: files name it)."""
    actor.require(S.BILLING_RULES_MANAGE)
    unknown = set(changes) - {"name", "active", "timely_filing_days"}
    if unknown:
        raise DomainError(f"{sorted(unknown)[0]}: cannot be changed")
    fields = _clean(**{k: v for k, v in changes.items() if v is not None})
    with transaction.atomic():
        payer = visible_payers(actor).select_for_update().filter(pk=payer_id).first()
        if payer is None:
            raise NotFound(f"Payer {payer_id} does not exist.")
        diff = {
            k: {"from": getattr(payer, k), "to": v}
            for k, v in fields.items()
            if getattr(payer, k) != v
        }
        if not diff:
            return payer
        for k, v in fields.items():
            setattr(payer, k, v)
        payer.save(update_fields=list(fields))
        audit_record(
            tenant=actor.tenant, actor=actor, action="PAYER_CHANGED", obj=payer, payload=diff
        )
    return payer
