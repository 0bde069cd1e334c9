"""remittances screens routes (issue 13)."""

urlpatterns: list = []
