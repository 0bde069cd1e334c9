"""A decision's recorded inputs as every reader shows them (issue 16, lean decision rows).

A run stores the assertions and services a decision used as the ids of their fact rows, in the
order used (`evaluate(..., lean=True)`); the database refuses to change or delete a fact row a
decision may reference (migration 0011), so reading the rows back by id gives exactly what the
engine recorded. Decisions stored before that hold the full rows and read as they are.
"""

from __future__ import annotations

from billing.engine.evaluate import ASSERTION_COLUMNS, assertion_row, service_row
from billing.engine.types import Assertion, ServiceEvent
from billing.models import EligibilityAssertion, ServiceDeliveryEvent

# the fact table's columns carry the engine's names, in the recorded row's order
_ASSERTION_FIELDS = ASSERTION_COLUMNS


class InputsMissing(Exception):
    """A decision references a fact row that is not there (the database should prevent it)."""


def _is_lean(rows: list) -> bool:
    return bool(rows) and isinstance(rows[0], int)


def inputs_is_lean(inputs: dict) -> bool:
    """The inputs reference fact rows by id (written by a run since issue 16)."""
    return _is_lean(inputs.get("assertions") or []) or _is_lean(inputs.get("services") or [])


def inputs_expand(inputs: dict | None, tenant_id: int) -> dict:
    """The inputs with assertions and services as full rows (a copy; full rows unchanged)."""
    inputs = inputs or {}
    if not inputs_is_lean(inputs):
        return inputs
    expanded = dict(inputs)
    a_ids = inputs.get("assertions") or []
    s_ids = inputs.get("services") or []
    if _is_lean(a_ids):
        found = {
            row[0]: assertion_row(Assertion(*row))
            for row in EligibilityAssertion.objects.filter(
                tenant_id=tenant_id, pk__in=a_ids
            ).values_list(*_ASSERTION_FIELDS)
        }
        expanded["assertions"] = _in_order(found, a_ids, "assertion")
    if _is_lean(s_ids):
        found = {
            row[0]: service_row(ServiceEvent(*row))
            for row in ServiceDeliveryEvent.objects.filter(
                tenant_id=tenant_id, pk__in=s_ids
            ).values_list("id", "service_date", "service_code", "received_at")
        }
        expanded["services"] = _in_order(found, s_ids, "service")
    return expanded


def _in_order(found: dict[int, list], ids: list[int], kind: str) -> list[list]:
    missing = [i for i in ids if i not in found]
    if missing:
        raise InputsMissing(f"recorded {kind} rows {missing} are missing")
    return [found[i] for i in ids]
