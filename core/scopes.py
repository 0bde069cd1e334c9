"""Scopes (permissions granted on the tenant object) and the role -> scope table of SPEC 2.

The role table names every scope of SPEC 2, including those of apps not built yet. Screens and
the API offer only the scopes some installed app declares (`offer_scopes`, called from each
app's AppConfig.ready()): see `offered_scopes()`.
"""

from collections.abc import Iterable

from django.db import models

TENANT_MANAGE = "tenant.manage"
BILLING_RULES_MANAGE = "billing.rules.manage"
BILLING_RUN_TRIGGER = "billing.run.trigger"
BILLING_RUN_VIEW = "billing.run.view"
BILLING_DECISION_REPLAY = "billing.decision.replay"
BILLING_EXCEPTION_RESOLVE = "billing.exception.resolve"
BILLING_OVERRIDE_CREATE = "billing.override.create"
INVOICING_REQUEST_CREATE = "invoicing.request.create"
INVOICING_REQUEST_APPROVE = "invoicing.request.approve"
INVOICING_TYPE_MANAGE = "invoicing.type.manage"
CLAIMS_WRITE = "claims.write"
BILLING_DENIAL_WRITE = "billing.denial.write"
BILLING_AUTOCORRECTION_RUN = "billing.auto-correction.run"
BILLING_AUTOCORRECTION_OVERRIDE = "billing.auto-correction.override"
BILLING_RECEIVABLE_OVERRIDE = "billing.receivable.override"
BILLING_COB_OVERRIDE = "billing.cob.override"
WALLETS_RUN_TRIGGER = "wallets.run.trigger"
WALLETS_TOPUP = "wallets.topup"
INGESTION_READ = "ingestion.read"
INGESTION_UPDATE = "ingestion.update"
AUDIT_READ = "audit.read"
EVENTS_READ = "events.read"
# SPEC 2: "Read scopes (view runs, invoices, denials, wallets) are held by every role."
INVOICING_VIEW = "invoicing.view"
CLAIMS_VIEW = "claims.view"
WALLETS_VIEW = "wallets.view"

SCOPE_LABELS: dict[str, str] = {
    TENANT_MANAGE: "Manage users, roles and tenant policy",
    BILLING_RULES_MANAGE: "Manage billing rule versions",
    BILLING_RUN_TRIGGER: "Trigger, regenerate and cancel billing runs",
    BILLING_RUN_VIEW: "View billing runs, decisions, exceptions and exports",
    BILLING_DECISION_REPLAY: "Replay billing decisions",
    BILLING_EXCEPTION_RESOLVE: "Resolve billing run exceptions",
    BILLING_OVERRIDE_CREATE: "Create member-month overrides",
    INVOICING_REQUEST_CREATE: "Create invoice requests",
    INVOICING_REQUEST_APPROVE: "Approve invoice requests",
    INVOICING_TYPE_MANAGE: "Manage invoice request types",
    CLAIMS_WRITE: "Write charges and build claims",
    BILLING_DENIAL_WRITE: "Work denials (states, reopen, manual flip)",
    BILLING_AUTOCORRECTION_RUN: "Run denial auto-correction",
    BILLING_AUTOCORRECTION_OVERRIDE: "Force-retry auto-correction",
    BILLING_RECEIVABLE_OVERRIDE: "Force-match remittances",
    BILLING_COB_OVERRIDE: "Override coordination of benefits",
    WALLETS_RUN_TRIGGER: "Trigger prepaid billing runs",
    WALLETS_TOPUP: "Top up wallets",
    INGESTION_READ: "View ingestion artifacts and batches",
    INGESTION_UPDATE: "Upload, process and retry ingestion batches",
    AUDIT_READ: "Read the audit trail",
    EVENTS_READ: "Read the event feed (ids, states, amounts; what webhooks send)",
    INVOICING_VIEW: "View accounts, invoice requests and bills",
    CLAIMS_VIEW: "View charges, claims, denials and receivables",
    WALLETS_VIEW: "View wallets, subscriptions and prepaid runs",
}
ALL_SCOPES: tuple[str, ...] = tuple(SCOPE_LABELS)


class Role(models.TextChoices):
    OWNER = "OWNER", "Owner"
    ADMIN = "ADMIN", "Admin"
    BILLING_MANAGER = "BILLING_MANAGER", "Billing manager"
    OPERATIONS = "OPERATIONS", "Operations"
    VIEWER = "VIEWER", "Viewer"


_READ = {
    BILLING_RUN_VIEW,
    INGESTION_READ,
    INVOICING_VIEW,
    CLAIMS_VIEW,
    WALLETS_VIEW,
    EVENTS_READ,
}
_OPERATIONS = _READ | {
    BILLING_DECISION_REPLAY,
    BILLING_EXCEPTION_RESOLVE,
    INVOICING_REQUEST_CREATE,
    CLAIMS_WRITE,
    BILLING_DENIAL_WRITE,
    BILLING_AUTOCORRECTION_RUN,
    INGESTION_UPDATE,
}
_BILLING_MANAGER = set(ALL_SCOPES) - {TENANT_MANAGE, INVOICING_TYPE_MANAGE}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(ALL_SCOPES),
    Role.ADMIN: frozenset(ALL_SCOPES),
    Role.BILLING_MANAGER: frozenset(_BILLING_MANAGER),
    Role.OPERATIONS: frozenset(_OPERATIONS),
    Role.VIEWER: frozenset(_READ),
}

# Scopes that may be placed under dual control (a second person approves the action).
# Under billing.run.trigger the override action is reopening a closed billing month (billing's
# month close); triggers and regenerations never wait for a second person. Under
# billing.denial.write the override actions are a write-off's reopening and the manual flip.
OVERRIDE_SCOPES: tuple[str, ...] = (
    BILLING_OVERRIDE_CREATE,
    BILLING_RUN_TRIGGER,
    BILLING_AUTOCORRECTION_OVERRIDE,
    BILLING_RECEIVABLE_OVERRIDE,
    BILLING_COB_OVERRIDE,
    BILLING_DENIAL_WRITE,
)

# How a scope reads on the dual-control form, where that differs from what the scope grants.
DUAL_CONTROL_LABELS: dict[str, str] = {
    BILLING_RUN_TRIGGER: "Reopen closed billing months (runs themselves need no approval)",
    BILLING_DENIAL_WRITE: (
        "Reopen written-off denials and flip denial states by hand (working, writing off and "
        "resolving need no approval)"
    ),
}


def codename(scope: str) -> str:
    """Permission codename on Tenant for a scope: `billing.run.view` -> `scope_billing_run_view`."""
    return "scope_" + scope.replace(".", "_").replace("-", "_")


CODENAME_TO_SCOPE: dict[str, str] = {codename(s): s for s in ALL_SCOPES}


def scopes_for_role(role: str) -> frozenset[str]:
    """The scopes a role carries."""
    return ROLE_SCOPES[Role(role)]


# --- which scopes the installed apps offer ----------------------------------------------------

_OFFERED: dict[str, tuple[str, ...]] = {}


def offer_scopes(app: str, scopes: Iterable[str]) -> None:
    """Declare the scopes an app's screens, API and commands actually use (AppConfig.ready())."""
    scopes = tuple(scopes)
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"{app} offers scopes missing from core.scopes: {', '.join(unknown)}")
    _OFFERED[app] = scopes


def offered_scopes() -> tuple[str, ...]:
    """Scopes some installed app offers, in the order of the role table."""
    offered = {s for scopes in _OFFERED.values() for s in scopes}
    return tuple(s for s in ALL_SCOPES if s in offered)


def offered_override_scopes() -> tuple[str, ...]:
    """Override scopes that can be put under dual control today."""
    offered = set(offered_scopes())
    return tuple(s for s in OVERRIDE_SCOPES if s in offered)
