"""Posted denials for the denial-work tests: the shared sample 835 loaded on its claims.

`posted(world)` loads the sample's three claim payments: CLM-000002 is denied in full (CO-29,
34.00 on a 34.00 claim) and CLM-000003 partly (CO-251, 22.75 of 34.25, 11.50 paid).
"""

from __future__ import annotations

from core import scopes as S
from denials.models import Denial
from tests.denials.remit_builders import load, sample_claims, sample_rows


def posted(world) -> dict:
    """The sample posted: claims by name and their denials (one per claim)."""
    claims = sample_claims(world.tenant)
    load(world.actor(S.Role.OWNER), sample_rows())
    return {
        "claims": claims,
        "denied": Denial.objects.get(claim=claims["denied"]),
        "partial": Denial.objects.get(claim=claims["partial"]),
    }


def set_status(denial: Denial, status: str) -> Denial:
    """Put a denial in a state directly (test setup only: the FSM field is protected)."""
    Denial.objects.filter(pk=denial.pk).update(status=status)
    return Denial.objects.get(pk=denial.pk)
