"""Invoicing API routes under /api/invoicing/."""

from django.urls import path

from invoicing.api import views as v

urlpatterns = [
    path("calendars", v.CalendarListCreateView.as_view(), name="api-inv-calendars"),
    path("calendars/<int:pk>", v.CalendarDetailView.as_view(), name="api-inv-calendar"),
    path(
        "calendars/<int:pk>/import-holidays",
        v.CalendarImportHolidaysView.as_view(),
        name="api-inv-calendar-import",
    ),
    path("divisions", v.DivisionListCreateView.as_view(), name="api-inv-divisions"),
    path("divisions/<int:pk>", v.DivisionDetailView.as_view(), name="api-inv-division"),
    path("request-types", v.RequestTypeListCreateView.as_view(), name="api-inv-types"),
    path("request-types/<int:pk>", v.RequestTypeDetailView.as_view(), name="api-inv-type"),
    path("accounts", v.AccountListCreateView.as_view(), name="api-inv-accounts"),
    path("accounts/<int:pk>", v.AccountDetailView.as_view(), name="api-inv-account"),
    path(
        "accounts/<int:pk>/memberships",
        v.MembershipListCreateView.as_view(),
        name="api-inv-memberships",
    ),
    path(
        "accounts/<int:pk>/memberships/<int:membership_pk>",
        v.MembershipDetailView.as_view(),
        name="api-inv-membership",
    ),
    path(
        "accounts/<int:pk>/memberships/<int:membership_pk>/characteristics",
        v.CharacteristicSetView.as_view(),
        name="api-inv-characteristics",
    ),
    path(
        "accounts/<int:pk>/memberships/<int:membership_pk>/log",
        v.MembershipLogView.as_view(),
        name="api-inv-membership-log",
    ),
    path("charges", v.ChargeListView.as_view(), name="api-inv-charges"),
    path("charges/<int:pk>", v.ChargeDetailView.as_view(), name="api-inv-charge"),
    path("requests", v.InvoiceRequestListCreateView.as_view(), name="api-inv-requests"),
    path("requests/preview", v.InvoiceRequestPreviewView.as_view(), name="api-inv-preview"),
    path("requests/<int:pk>", v.InvoiceRequestDetailView.as_view(), name="api-inv-request"),
    path(
        "requests/<int:pk>/approve",
        v.InvoiceRequestApproveView.as_view(),
        name="api-inv-request-approve",
    ),
    path(
        "requests/<int:pk>/reject",
        v.InvoiceRequestRejectView.as_view(),
        name="api-inv-request-reject",
    ),
    path(
        "requests/<int:pk>/cancel",
        v.InvoiceRequestCancelView.as_view(),
        name="api-inv-request-cancel",
    ),
    path(
        "requests/<int:pk>/retry", v.InvoiceRequestRetryView.as_view(), name="api-inv-request-retry"
    ),
    path("bills", v.BillListView.as_view(), name="api-inv-bills"),
    path("bills/<int:pk>", v.BillDetailView.as_view(), name="api-inv-bill"),
    path("bills/<int:pk>/pdf", v.BillPdfView.as_view(), name="api-inv-bill-pdf"),
]
