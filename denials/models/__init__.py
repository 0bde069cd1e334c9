"""Charges, claims, remittances, receivables and denials (SPEC 6, 8; issue 13)."""

from denials.models.claims import Charge, Claim, ClaimLine, ClaimsSettings, PaymentApplication
from denials.models.denial_work import CobOverride, CorrectionAttempt, Coverage
from denials.models.jobs import ClaimAlert, JobRun
from denials.models.remittances import Denial, Remittance, RemittanceClaim
from denials.models.x837 import Interchange837

__all__ = [
    "Charge",
    "Claim",
    "ClaimAlert",
    "ClaimLine",
    "ClaimsSettings",
    "CobOverride",
    "CorrectionAttempt",
    "Coverage",
    "Denial",
    "Interchange837",
    "JobRun",
    "PaymentApplication",
    "Remittance",
    "RemittanceClaim",
]
