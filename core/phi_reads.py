"""Who read what: one audit entry per read or export of protected health information (PHI).

HIPAA's audit controls expect reads of PHI to be recorded, not only changes. Every screen, API
endpoint or command that shows or hands out member data calls `record_phi_access` once per
request, after the read was allowed (a refused read records nothing). The entry names the actor
and the object (type and internal primary key); its payload holds only the shape of the read
(kinds, counts, non-PHI filters), never a member id, a name or a birth date.
"""

from __future__ import annotations

from typing import Any

from core.actors import Actor
from core.audit import audit_record
from core.models import AuditEntry

PHI_PREFIX = "phi."
PHI_VIEW = "phi.view"  # a page or API response showing one object's PHI
PHI_EXPORT = "phi.export"  # a download (CSV, package) holding PHI
PHI_SEARCH = "phi.search"  # a search whose results list members
PHI_ACTIONS = (PHI_VIEW, PHI_EXPORT, PHI_SEARCH)

# payload keys that would hold PHI if a caller passed them through by mistake
FORBIDDEN_KEYS = frozenset(
    {
        "q",
        "query",
        "search",
        "member",
        "member_id",
        "external_id",
        "name",
        "first_name",
        "last_name",
        "birth_date",
        "dob",
    }
)
_PLAIN = (int, float, bool, str, type(None))


def _check(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_KEYS:
                raise ValueError(f"PHI access payload: '{where}{key}' could hold PHI.")
            _check(item, f"{where}{key}.")
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item, where)
    elif not isinstance(value, _PLAIN):
        raise ValueError(f"PHI access payload: '{where}' must be a plain value (ids, counts).")


def record_phi_access(
    actor: Actor,
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: str | int = "",
    **details: Any,
) -> AuditEntry | None:
    """Append one PHI-access entry (actor, object, counts); repeated calls in a request are one."""
    if action not in PHI_ACTIONS:
        raise ValueError(f"PHI access action must be one of {', '.join(PHI_ACTIONS)}.")
    _check(details, "")
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or obj.pk
    # the actor lives for one request (or one command): the same read twice is one entry
    key = (action, object_type, str(object_id), repr(sorted(details.items())))
    seen: set = getattr(actor, "_phi_reads_seen", None) or set()
    if key in seen:
        return None
    entry = audit_record(
        tenant=actor.tenant,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=details,
    )
    seen.add(key)
    actor._phi_reads_seen = seen
    return entry
