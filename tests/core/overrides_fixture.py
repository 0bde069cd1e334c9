"""A test override action: records what it did in the audit trail."""

from core import scopes as S
from core.audit import audit_record
from core.overrides import OverrideAction, register_override

ACTION = "test.flag_member_month"


def _execute(*, actor, payload, reason, requested_by, approved_by):
    audit_record(
        tenant=actor.tenant,
        actor=actor,
        action="TEST_OVERRIDE_DONE",
        reason=reason,
        payload={
            "payload": payload,
            "requested_by": requested_by.username if requested_by else None,
            "approved_by": approved_by.username if approved_by else None,
        },
    )
    return {"flagged": payload.get("member"), "approved_by": approved_by and approved_by.username}


register_override(
    OverrideAction(
        name=ACTION,
        scope=S.BILLING_OVERRIDE_CREATE,
        execute=_execute,
        describe=lambda p: f"flag member-month {p.get('member')}",
    )
)
