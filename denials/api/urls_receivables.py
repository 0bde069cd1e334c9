"""receivables API routes (issue 13)."""

urlpatterns: list = []
