"""Pages of billing objects, for links from the audit trail (core.links registry)."""

from __future__ import annotations

from django.urls import reverse


def _int(object_id: str) -> int | None:
    return int(object_id) if object_id.isdigit() else None


def _run(object_id: str) -> str | None:
    pk = _int(object_id)
    return reverse("billing:run", args=[pk]) if pk else None


def _decision(object_id: str) -> str | None:
    pk = _int(object_id)
    return reverse("billing:decision", args=[pk]) if pk else None


def _member(object_id: str) -> str | None:
    pk = _int(object_id)
    return reverse("billing:member", args=[pk]) if pk else None


def _rule_version(object_id: str) -> str | None:
    pk = _int(object_id)
    return f"{reverse('billing:rules')}#rv-{pk}" if pk else None


def register() -> None:
    """Runs, decisions, members and rule versions link to their pages."""
    from core.links import register_link

    register_link("billing.BillingRun", _run, name="Run")
    register_link("billing.Decision", _decision, name="Decision")
    register_link("billing.Member", _member, name="Member")
    register_link("billing.RuleVersion", _rule_version, name="Rule version")
