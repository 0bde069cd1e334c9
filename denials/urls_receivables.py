"""receivables screens routes (issue 13)."""

urlpatterns: list = []
