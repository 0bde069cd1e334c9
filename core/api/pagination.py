"""Cursor pagination: stable pages over large, growing tables; bad paging input answers 400."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


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
        """A malformed cursor is bad input (400), not a missing page (404)."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise _bad_cursor(self.invalid_cursor_message) from exc

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
        return parameters


def _bad_cursor(message: str) -> ValidationError:
    return ValidationError({"cursor": [message]})
