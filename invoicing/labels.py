"""How invoicing's codes read on screens (codes stay unchanged in the API and CSVs)."""

from __future__ import annotations

REQUEST_STATES = {
    "PENDING_APPROVAL": "Pending approval",
    "APPROVED": "Approved",
    "REJECTED": "Rejected",
    "PENDING": "Pending",
    "PROCESSED": "Processed",
    "ERROR": "Error",
    "CANCELLED": "Cancelled",
    "ONLINE": "Online",
    "DEFERRED": "Deferred",
}

TYPE_CODES = {
    "MANUAL": "Manual",
    "AUTOMATIC": "Automatic",
    "REGULAR": "Regular",
    "TRIAL": "Trial",
    "DRAFT": "Draft",
    "POSTED": "Posted",
    "INDIVIDUAL": "Individual",
    "GROUP": "Group",
    "ENROLLED": "Enrolled",
    "TERMINATED": "Terminated",
    "BILLING_RUN": "Billing run",
    "IMPORTED": "Imported",
    "INVRACTE": "Eligible for invoice request creation",
}

AUDIT_ACTIONS = {
    "InvoiceRequest.create": "Invoice request created",
    "InvoiceRequest.approve": "Invoice request approved",
    "InvoiceRequest.release": "Invoice request released for processing",
    "InvoiceRequest.reject": "Invoice request rejected",
    "InvoiceRequest.cancel": "Invoice request cancelled",
    "InvoiceRequest.processed": "Invoice request processed",
    "InvoiceRequest.failed": "Invoice request failed",
    "InvoiceRequest.retry": "Invoice request retried",
    "INVOICE_REQUEST_CREATED": "Invoice request created",
    "BILL_PDF_FAILED": "Bill PDF given up on by the watchdog",
}


def register() -> None:
    """Give core's `label` filter invoicing's wording."""
    from core.labels import register_labels

    for table in (REQUEST_STATES, TYPE_CODES, AUDIT_ACTIONS):
        register_labels(table)
