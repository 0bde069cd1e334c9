"""Cursor pagination: stable pages over large, growing tables; bad paging input answers 400.

Cursors are short readable tokens rather than DRF's base64 of a query string, so the OpenAPI
schema can state their exact form (`CURSOR_PATTERN`): a client (or a fuzzer) that sends a
cursor matching the pattern gets a page, anything else is a 400 naming `cursor`. A token is
`p<position>` (the ordering field's value where the page starts), `o<offset>` (rows to skip
at that position) and `r` (paging backwards), each optional but at least one present, in
that order. Every paginated list orders by an integer field (`pk`, `id`, `seq`,
`row_number`), so a position is digits; `encode_cursor` refuses anything else loudly.
"""

import re

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.utils.urls import remove_query_param, replace_query_param

# at most 18 digits: every position fits a signed 64-bit integer column
CURSOR_PATTERN = r"^(p[0-9]{1,18}(o[0-9]{1,9})?r?|o[0-9]{1,9}r?|r)$"
_CURSOR = re.compile(r"(?:p(?P<p>[0-9]{1,18}))?(?:o(?P<o>[0-9]{1,9}))?(?P<r>r)?")


class CursorPagination(pagination.CursorPagination):
    """Newest first by primary key unless a view says otherwise; `page_size` 1 to 1000."""

    ordering = "-pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    invalid_cursor_message = "Invalid cursor: pass the `next` or `previous` link as given."

    def get_page_size(self, request):
        """`page_size` if given, a whole number from 1 to max_page_size; 400 naming it otherwise."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"expected a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return int(raw)

    def decode_cursor(self, request):
        """A cursor of the documented form; a malformed one is bad input (400), not a 404."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        match = _CURSOR.fullmatch(encoded)
        if not encoded or match is None:
            raise _bad_cursor(self.invalid_cursor_message)
        return pagination.Cursor(
            offset=min(int(match["o"] or 0), self.offset_cutoff),
            reverse=match["r"] is not None,
            position=match["p"],
        )

    def encode_cursor(self, cursor):
        """The link to the page `cursor` points at, its token in the documented form."""
        position = cursor.position
        if position is not None and not str(position).isdigit():
            raise ImproperlyConfigured(
                f"cursor pagination needs a non-negative integer ordering field, got {position!r}"
            )
        token = (
            (f"p{position}" if position is not None else "")
            + (f"o{cursor.offset}" if cursor.offset else "")
            + ("r" if cursor.reverse else "")
        )
        if not token:  # the first page: no cursor at all
            return remove_query_param(self.base_url, self.cursor_query_param)
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError) as exc:
            # a well-encoded cursor whose position does not fit the ordering field
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            raise _bad_cursor(self.invalid_cursor_message) from exc

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
            elif parameter["name"] == self.cursor_query_param:
                parameter["schema"] = {"type": "string", "pattern": CURSOR_PATTERN}
                parameter["description"] = (
                    "Where the page starts: pass the `next` or `previous` link as given."
                )
        return parameters


def _bad_cursor(message: str) -> ValidationError:
    return ValidationError({"cursor": [message]})
