"""Invoicing screens, one module per area; urls.py names them through this package."""

from invoicing.views.accounts import (
    account_detail,
    account_list,
    bill_detail,
    bill_pdf,
    bill_pdf_status,
)
from invoicing.views.calendars import calendar_detail, calendar_list
from invoicing.views.overview import overview
from invoicing.views.requests import (
    approval_queue,
    request_approve,
    request_cancel,
    request_detail,
    request_list,
    request_list_csv,
    request_new,
    request_preview,
    request_reject,
    request_retry,
)

__all__ = [
    "account_detail",
    "account_list",
    "approval_queue",
    "bill_detail",
    "bill_pdf",
    "bill_pdf_status",
    "calendar_detail",
    "calendar_list",
    "overview",
    "request_approve",
    "request_cancel",
    "request_detail",
    "request_list",
    "request_list_csv",
    "request_new",
    "request_preview",
    "request_reject",
    "request_retry",
]
