"""remittances API routes (issue 13)."""

urlpatterns: list = []
