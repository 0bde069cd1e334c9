"""Small pieces the wallets API views share: strict query filters, id-ordered cursor pages."""

from __future__ import annotations

from core.api.filters import query_data


def query_filters(request, form_class) -> dict:
    """The validated query parameters of a list (400 naming a bad one)."""
    form = form_class(data=query_data(request.query_params))
    form.is_valid(raise_exception=True)
    return form.validated_data


class OldestFirst:
    """Cursor pages in id order (lists a person reads top to bottom)."""

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "pk"
        return super().paginate_queryset(queryset)
