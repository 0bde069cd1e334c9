"""Cursor pagination: stable pages over large, growing tables."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Newest first by primary key unless a view says otherwise; `page_size` up to 1000."""

    ordering = "-pk"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
