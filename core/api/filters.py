"""Strict query parameters: an unknown filter value answers 400, it never silently matches.

An empty value (`?status=`) is a value like any other: it answers 400 where the schema refuses
it (an enum, a date, a month) instead of silently meaning "no filter". DRF serializers read a
QueryDict like an HTML form, where "" for an optional field means omitted; filter serializers
therefore validate `query_data(request.query_params)`, a plain dict.
"""

from collections.abc import Iterable

from rest_framework.exceptions import ValidationError


def query_data(query_params) -> dict[str, str]:
    """The query parameters as a plain dict (last value of each) for a filter serializer."""
    return query_params.dict()


def query_choice(query_params, name: str, choices: Iterable[str]) -> str:
    """`?name=` as one of `choices` (any case), "" when absent; 400 naming it otherwise."""
    if name not in query_params:
        return ""
    value = query_params.get(name)
    allowed = list(choices)
    canonical = {c.upper(): c for c in allowed}.get(value.upper())  # `?status=error` reads as ERROR
    if canonical is None:
        raise ValidationError({name: [f"'{value[:50]}' is not one of {', '.join(allowed)}."]})
    return canonical
