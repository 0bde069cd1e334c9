"""Wallets staff screens (mounted under /wallets/)."""

app_name = "wallets"
urlpatterns: list = []
