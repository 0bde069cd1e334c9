"""Helpers shared by core's commands."""

from django.core.management.base import CommandError

from core.models import Tenant


def tenant_or_error(slug: str) -> Tenant:
    """The tenant named by --tenant, or a clear error."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"No tenant with slug '{slug}'.")
    return tenant
