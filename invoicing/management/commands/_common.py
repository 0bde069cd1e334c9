"""Helpers shared by invoicing's commands: the acting user, lookups (dates: core's date_arg)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from core.actors import Actor
from invoicing.models import Account, InvoiceRequestType


def user_actor(tenant, username: str) -> Actor:
    """The actor of a named user in the tenant."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"--user: no active user '{username}'.")
    return Actor(tenant=tenant, user=user)


def request_type_or_error(tenant, code: str) -> InvoiceRequestType:
    """The tenant's request type by code."""
    found = InvoiceRequestType.objects.filter(tenant=tenant, code=code).first()
    if found is None:
        raise CommandError(f"--type: no invoice request type '{code}'.")
    return found


def account_or_error(tenant, number: str) -> Account:
    """The tenant's account by number."""
    found = (
        Account.objects.filter(tenant=tenant, number=number)
        .select_related("division__work_calendar")
        .first()
    )
    if found is None:
        raise CommandError(f"--account: no account '{number}'.")
    return found
