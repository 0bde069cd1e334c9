"""Helpers shared by core's commands."""

import json
from datetime import date
from pathlib import Path

from django.core.management.base import CommandError

from core.models import Tenant
from core.months import MonthError, parse_date


def tenant_or_error(slug: str) -> Tenant:
    """The tenant named by --tenant, or a clear error."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"No tenant with slug '{slug}'.")
    return tenant


def json_file_or_error(file: str):
    """The JSON content of a file named on the command line, or a clear error."""
    try:
        return json.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"{file}: cannot read JSON ({exc}).") from None


def date_arg(option: str, text: str | None) -> date | None:
    """A YYYY-MM-DD option value, or a one-line error naming the option."""
    if text is None:
        return None
    try:
        return parse_date(text)
    except MonthError as exc:
        raise CommandError(f"{option}: {exc}, found {text!r}.") from None
