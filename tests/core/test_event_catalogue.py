"""The event catalogue (issue 19): the 16 types, PHI-free samples and payloads, the README,
events written exactly when their change commits, sequences, override request events."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from core import scopes as S
from core.event_types import catalogue_markdown, sample_json, scope_holders
from core.events import PayloadError, event_emit, event_types, payload_check
from core.models import Event, OverrideRequest
from core.overrides import (
    override_perform,
    override_request_approve,
    override_request_reject,
    override_requests_expire,
)
from core.services import tenant_policy_update
from tests.core.event_helpers import phi_found, recipients, the_event, title_and_link
from tests.core.overrides_fixture import ACTION  # registers the test override action
from tests.fixtures import add_user

ISSUE_TYPES = [
    "billing.run.completed",
    "billing.run.failed",
    "billing.run.superseded",
    "ingestion.batch.completed",
    "ingestion.batch.failed",
    "override_request.pending",
    "override_request.decided",
    "invoicing.request.pending_approval",
    "invoicing.bill.posted",
    "claims.remittance.posted",
    "claims.receivable.unmatched",
    "denials.denial.opened",
    "denials.denial.written_off",
    "denials.denial.reopened",
    "wallets.wallet.low_balance",
    "wallets.run.completed",
]
# the work that waits for someone: these types notify
NOTIFYING = {
    "billing.run.failed",
    "ingestion.batch.failed",
    "override_request.pending",
    "override_request.decided",
    "invoicing.request.pending_approval",
    "wallets.wallet.low_balance",
}
README = Path(__file__).resolve().parents[2] / "README.md"
# what names, birth dates and member ids look like in samples: none may appear
PHI_PATTERNS = [r"\b\d{4}-\d{2}-\d{2}\b.*birth", r"\bM0\d\d\b", r"Lovelace", r"\bAda\b"]


# --- the catalogue ----------------------------------------------------------------------------


def test_catalogue_holds_exactly_the_issues_sixteen_types():
    assert sorted(et.name for et in event_types()) == sorted(ISSUE_TYPES)


@pytest.mark.parametrize("name", ISSUE_TYPES)
def test_each_type_is_documented_and_notifies_only_for_waiting_work(name):
    et = {t.name: t for t in event_types()}[name]
    assert et.description and et.object_type and et.sample
    assert et.app, "registered by an app"
    assert et.actions or et.payload is None, "a type with a payload builder names its actions"
    if name in NOTIFYING:
        assert et.recipients and et.title and et.link
    else:
        assert et.recipients is None


@pytest.mark.parametrize("name", ISSUE_TYPES)
def test_every_sample_is_free_of_phi(name):
    et = {t.name: t for t in event_types()}[name]
    payload_check(et.sample)  # no PHI key, only JSON-able values
    text = sample_json(et.sample)
    for pattern in PHI_PATTERNS:
        assert not re.search(pattern, text), f"{name}: {pattern}"
    for key, value in et.sample.items():
        assert not any(w in key for w in ("name", "birth", "reason", "note")), key
        if "member" in key:
            assert isinstance(value, int), f"{name}.{key}: only member counts"


@pytest.mark.parametrize("key", ["member_id", "first_name", "birth_date", "Name", "dob"])
def test_payload_check_refuses_a_phi_key_even_nested(key):
    with pytest.raises(PayloadError, match="PHI"):
        payload_check({"run": 1, "items": [{key: "x"}]})


def test_readme_lists_every_type_with_its_sample():
    text = README.read_text()
    assert "### Events and webhooks: the catalogue" in text
    for et in event_types():
        assert f"`{et.name}`" in text, et.name
        assert sample_json(et.sample) in text, f"{et.name}: README sample differs from code"
    assert catalogue_markdown() in text, "README catalogue is stale: regenerate it"


# --- written with the change, numbered per tenant ---------------------------------------------


def test_event_exists_only_when_its_change_committed(world):
    tenant = world.tenant
    with pytest.raises(RuntimeError), transaction.atomic():
        event_emit(tenant=tenant, type="wallets.wallet.low_balance", object_id=1, payload={"a": 1})
        assert Event.objects.filter(tenant=tenant).count() == 1
        raise RuntimeError("forced rollback")
    assert Event.objects.filter(tenant=tenant).count() == 0

    event_emit(tenant=tenant, type="wallets.wallet.low_balance", object_id=1, payload={"a": 1})
    assert Event.objects.filter(tenant=tenant).count() == 1


def test_sequences_increase_by_one_per_tenant(world):
    for n in range(3):
        event_emit(
            tenant=world.tenant, type="wallets.wallet.low_balance", object_id=n, payload={"n": n}
        )
    event_emit(
        tenant=world.other_tenant, type="wallets.wallet.low_balance", object_id=9, payload={}
    )
    mine = list(Event.objects.filter(tenant=world.tenant).values_list("sequence", flat=True))
    first = min(mine)
    assert sorted(mine) == [first, first + 1, first + 2]
    other = Event.objects.get(tenant=world.other_tenant)
    assert other.sequence == 1


# --- override requests ------------------------------------------------------------------------


@pytest.fixture
def pending(world) -> OverrideRequest:
    """The billing manager's override under dual control, waiting for a second person."""
    tenant_policy_update(
        actor=world.actor(S.Role.OWNER), dual_control_scopes=[S.BILLING_OVERRIDE_CREATE]
    )
    outcome = override_perform(
        actor=world.actor(S.Role.BILLING_MANAGER),
        action=ACTION,
        payload={"member": "M-9"},
        reason="Ada Lovelace called: payer confirmed",
    )
    return outcome.request


def test_override_pending_notifies_the_scope_holders_but_the_requester(world, pending):
    event = the_event(world.tenant, "override_request.pending")
    assert event.object_type == "core.OverrideRequest"
    assert event.payload == {
        "request": pending.pk,
        "action": ACTION,
        "scope": S.BILLING_OVERRIDE_CREATE,
        "status": "PENDING",
        "expires_at": pending.expires_at.isoformat().replace("+00:00", "Z"),
    }
    assert phi_found(event.payload, ["Ada", "Lovelace", "M-9", "payer confirmed"]) == []
    # owner and admin hold the scope; the requesting billing manager does not get it
    assert recipients(event) == sorted([world.users[S.Role.OWNER].pk, world.users[S.Role.ADMIN].pk])
    title, link = title_and_link(event)
    assert title == f"Override request #{pending.pk} waits for your approval"
    assert link == "/approvals/overrides/"


def test_scope_holders_are_active_members_only(world):
    gone = add_user(world.tenant, "alpha-admin-2", S.Role.ADMIN)
    gone.is_active = False
    gone.save()
    holders = scope_holders(world.tenant.pk, S.TENANT_MANAGE)
    assert holders == sorted([world.users[S.Role.OWNER].pk, world.users[S.Role.ADMIN].pk])
    assert world.outsider.pk not in scope_holders(world.tenant.pk, S.BILLING_RUN_VIEW)


@pytest.mark.parametrize("decision", ["approve", "reject", "expire"])
def test_override_decided_notifies_the_requester(world, pending, decision):
    owner = world.actor(S.Role.OWNER)
    if decision == "approve":
        override_request_approve(actor=owner, request_id=pending.pk, note="ok")
    elif decision == "reject":
        override_request_reject(actor=owner, request_id=pending.pk, note="no: Ada Lovelace")
    else:
        OverrideRequest.objects.filter(pk=pending.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        override_requests_expire(tenant=world.tenant)

    event = the_event(world.tenant, "override_request.decided")
    status = {"approve": "APPROVED", "reject": "REJECTED", "expire": "EXPIRED"}[decision]
    assert (event.payload["request"], event.payload["status"]) == (pending.pk, status)
    assert phi_found(event.payload, ["Ada", "Lovelace", "M-9"]) == []
    assert recipients(event) == [world.users[S.Role.BILLING_MANAGER].pk]
    assert title_and_link(event)[0] == f"Your override request #{pending.pk} was {status.lower()}"
    assert event.sequence > the_event(world.tenant, "override_request.pending").sequence


def test_override_run_at_once_writes_no_request_event(world):
    override_perform(
        actor=world.actor(S.Role.BILLING_MANAGER),
        action=ACTION,
        payload={"member": "M-9"},
        reason="no dual control",
    )
    assert not Event.objects.filter(type__startswith="override_request.").exists()
