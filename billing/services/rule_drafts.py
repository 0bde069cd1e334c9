"""Rule drafts: copy a payer's active version to a new draft, and compare a draft with it."""

from __future__ import annotations

import copy
import re

from django.db import transaction

from billing.models import Payer, RuleVersion
from billing.services.rules import rule_version_create
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def next_version_label(label: str, taken: set[str]) -> str:
    """The label one up from `label` ('v1' -> 'v2', '2026.1' -> '2026.2', 'base' -> 'base.2'),
    skipping labels already taken."""
    match = _TRAILING_NUMBER.match(label)
    prefix, number, width = (
        (match.group(1), int(match.group(2)), len(match.group(2))) if match else (f"{label}.", 1, 1)
    )
    while True:
        number += 1
        candidate = f"{prefix}{str(number).zfill(width)}"
        if candidate not in taken:
            return candidate


def active_version(payer: Payer) -> RuleVersion | None:
    """The payer's ACTIVE version with the latest effective_from (what a new month would use)."""
    return (
        RuleVersion.objects.filter(payer=payer, status=RuleVersion.Status.ACTIVE)
        .order_by("-effective_from", "-id")
        .first()
    )


def rule_version_copy_active(*, actor: Actor, payer: Payer) -> RuleVersion:
    """A new DRAFT identical to the payer's active version, labelled one version up."""
    actor.require(S.BILLING_RULES_MANAGE)
    with transaction.atomic():
        source = active_version(payer)
        if source is None:
            raise DomainError(f"payer: {payer.code} has no active rule version to copy.")
        taken = set(RuleVersion.objects.filter(payer=payer).values_list("version", flat=True))
        label = next_version_label(source.version, taken)
        if len(label) > 20:
            raise DomainError(f"version: the next label after {source.version} is too long.")
        draft = rule_version_create(
            actor=actor,
            payer=payer,
            version=label,
            effective_from=source.effective_from,
            params=copy.deepcopy(source.params),
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="RULE_VERSION_COPIED",
            obj=draft,
            payload={"payer": payer.code, "from": source.version, "to": draft.version},
        )
    return draft
