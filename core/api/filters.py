"""Strict query parameters: an unknown filter value answers 400, it never silently matches."""

from collections.abc import Iterable

from rest_framework.exceptions import ValidationError


def query_choice(query_params, name: str, choices: Iterable[str]) -> str:
    """`?name=` as one of `choices` (any case), "" when absent; 400 naming it otherwise."""
    value = query_params.get(name, "")
    if value == "":
        return ""
    allowed = list(choices)
    canonical = {c.upper(): c for c in allowed}.get(value.upper())  # `?status=error` reads as ERROR
    if canonical is None:
        raise ValidationError({name: [f"'{value[:50]}' is not one of {', '.join(allowed)}."]})
    return canonical
