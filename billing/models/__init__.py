"""Billing models: facts, rule versions and overrides, runs and their decisions."""

from billing.models.closes import MonthClose
from billing.models.facts import EligibilityAssertion, Member, Payer, ServiceDeliveryEvent
from billing.models.package import AuditPackage
from billing.models.pages import DecisionPageMark
from billing.models.rules import MemberMonthOverride, RuleVersion
from billing.models.runs import BillingRun, Decision, RunChunk, RunException, RunPayer

__all__ = [
    "AuditPackage",
    "BillingRun",
    "Decision",
    "DecisionPageMark",
    "EligibilityAssertion",
    "Member",
    "MemberMonthOverride",
    "MonthClose",
    "Payer",
    "RuleVersion",
    "RunChunk",
    "RunException",
    "RunPayer",
    "ServiceDeliveryEvent",
]
