"""Invoicing screens (mounted at /invoicing/)."""

from django.urls import path

from invoicing import views

app_name = "invoicing"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("queue/", views.approval_queue, name="queue"),
    path("requests/", views.request_list, name="requests"),
    path("requests.csv", views.request_list_csv, name="requests-csv"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/preview/", views.request_preview, name="request-preview"),
    path("requests/<int:pk>/", views.request_detail, name="request"),
    path("requests/<int:pk>/approve/", views.request_approve, name="request-approve"),
    path("requests/<int:pk>/reject/", views.request_reject, name="request-reject"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request-cancel"),
    path("requests/<int:pk>/retry/", views.request_retry, name="request-retry"),
    path("accounts/", views.account_list, name="accounts"),
    path("accounts/<int:pk>/", views.account_detail, name="account"),
    path("bills/<int:pk>/", views.bill_detail, name="bill"),
    path("bills/<int:pk>/pdf/", views.bill_pdf, name="bill-pdf"),
    path("bills/<int:pk>/pdf-status/", views.bill_pdf_status, name="bill-pdf-status"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/<int:pk>/", views.calendar_detail, name="calendar"),
]
