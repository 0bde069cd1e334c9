"""The 837P part of the demo: the demo's BUILT claims go out in an interchange (one stays BUILT
so the export screen has something waiting). Runs after the claims are built (order 42).

Wire it with `demo_x837.register()` in `DenialsConfig.ready()`.
"""

from __future__ import annotations

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant
from denials.models import Claim, Interchange837
from denials.services.x12_export import claims_export_837

ORDER = 42


def load_export_demo(tenant: Tenant) -> str:
    """Export every BUILT claim but the newest, once (idempotent: skipped once one exists)."""
    if Interchange837.objects.filter(tenant=tenant).exists():
        return "837P interchange already written"
    numbers = list(
        Claim.objects.filter(tenant=tenant, status=Claim.Status.BUILT)
        .order_by("pk")
        .values_list("number", flat=True)
    )[:-1]
    if not numbers:
        return "no built claims to export"
    x = claims_export_837(actor=Actor.system_for(tenant), tenant=tenant, claim_numbers=numbers)
    return f"837P interchange {x.interchange_control_number}: {x.claim_count} claims submitted"


def register() -> None:
    """Add the 837P export to the demo."""
    register_demo_loader("denials-837", ORDER, load_export_demo)
