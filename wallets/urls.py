"""Wallets staff screens (mounted under /wallets/)."""

from django.urls import path

from wallets import views

app_name = "wallets"
urlpatterns = [
    path("", views.wallet_list, name="wallets"),
    path("wallets.csv", views.wallet_list_csv, name="wallets-csv"),
    path("<int:pk>/", views.wallet_detail, name="wallet"),
    path("<int:pk>/top-up/", views.wallet_topup, name="wallet-topup"),
    path("<int:pk>/watch/", views.wallet_watch, name="wallet-watch"),
    path("runs/", views.prepaid_run_list, name="runs"),
    path("runs/rows/", views.prepaid_run_rows, name="run-rows"),
    path("runs/<int:pk>/", views.prepaid_run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.prepaid_run_progress, name="run-progress"),
]
