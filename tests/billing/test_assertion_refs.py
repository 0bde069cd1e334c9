"""An eligibility assertion never references a member, payer, batch or artifact that does not
exist (migration 0015: a set-based check per insert on PostgreSQL instead of five per-row
foreign keys; SQLite keeps its foreign keys)."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.ingest import ASSERTION_FIELDS
from billing.models import EligibilityAssertion, Member, Payer
from core.bulk import insert_rows

pytestmark = pytest.mark.django_db
# COPY runs on the driver's cursor: PostgreSQL's refusal comes out as psycopg's IntegrityError
REFUSED = (IntegrityError, psycopg.IntegrityError)


@pytest.fixture
def acme(world):
    payer = Payer.objects.create(tenant=world.tenant, code="ACME", name="Acme Insurance")
    member = Member.objects.create(
        tenant=world.tenant,
        external_id="M001",
        first_name="Ada",
        last_name="Lovelace",
        birth_date=date(1980, 1, 1),
    )
    return payer, member


def _row(tenant_id, payer_id, member_id, *, batch_id=None, artifact_id=None) -> tuple:
    """An assertion in ASSERTION_FIELDS order (how an eligibility load writes it)."""
    day = date(2026, 1, 1)
    return (
        tenant_id,
        payer_id,
        member_id,
        "FULL_FILE",
        day,
        timezone.now(),
        "ACTIVE",
        day,
        None,
        "MED",
        "",
        artifact_id,
        batch_id,
        1,
    )


def _refused(write) -> None:
    """`write` fails as a whole (on SQLite the deferred keys are checked before commit)."""
    with pytest.raises(REFUSED), transaction.atomic():
        write()
        connection.check_constraints(table_names=[EligibilityAssertion._meta.db_table])


def test_assertions_with_existing_references_are_stored(world, acme):
    # given a payer and a member of the tenant
    payer, member = acme
    # when a load writes two assertions for them
    with transaction.atomic():
        insert_rows(
            EligibilityAssertion, ASSERTION_FIELDS, [_row(world.tenant.pk, payer.pk, member.pk)] * 2
        )
    # then both are stored
    assert EligibilityAssertion.objects.filter(member=member, payer=payer).count() == 2


@pytest.mark.parametrize("dangling", ["member", "payer", "batch", "artifact"])
def test_an_assertion_referencing_a_missing_row_is_refused(world, acme, dangling):
    # given a load whose chunk holds one good assertion and one whose reference does not exist
    payer, member = acme
    refs = {"payer_id": payer.pk, "member_id": member.pk}
    missing = {"batch_id": None, "artifact_id": None}
    if dangling in ("member", "payer"):
        refs[f"{dangling}_id"] = 987654321
    else:
        missing[f"{dangling}_id"] = 987654321
    good = _row(world.tenant.pk, payer.pk, member.pk)
    bad = _row(world.tenant.pk, refs["payer_id"], refs["member_id"], **missing)
    # when it is written (COPY on PostgreSQL), or created one row at a time
    _refused(lambda: insert_rows(EligibilityAssertion, ASSERTION_FIELDS, [good, bad]))
    names = [EligibilityAssertion._meta.get_field(f).attname for f in ASSERTION_FIELDS]
    _refused(lambda: EligibilityAssertion.objects.create(**dict(zip(names, bad, strict=True))))
    # then nothing of it is stored
    assert not EligibilityAssertion.objects.exists()


@pytest.mark.postgres
def test_an_assertion_referencing_another_tenants_member_is_refused(world, acme):
    # given a member of another tenant (the foreign keys never checked this)
    payer, _ = acme
    stranger = Member.objects.create(
        tenant=world.other_tenant,
        external_id="X001",
        first_name="Bo",
        last_name="Other",
        birth_date=date(1990, 1, 1),
    )
    # when an assertion of tenant A names that member: refused, naming what is missing
    refused = pytest.raises(REFUSED, match="do not exist under their tenant: 1 member")
    with refused, transaction.atomic():
        insert_rows(
            EligibilityAssertion,
            ASSERTION_FIELDS,
            [_row(world.tenant.pk, payer.pk, stranger.pk)],
        )
    assert not EligibilityAssertion.objects.exists()


@pytest.mark.postgres
def test_a_referenced_member_or_payer_cannot_be_deleted_nor_an_assertion_repointed(world, acme):
    # given a stored assertion
    payer, member = acme
    with transaction.atomic():
        insert_rows(
            EligibilityAssertion, ASSERTION_FIELDS, [_row(world.tenant.pk, payer.pk, member.pk)]
        )
    # when the member or the payer is deleted behind the ORM's back, or the row is repointed
    attempts = (
        ("DELETE FROM billing_member WHERE id = %s", [member.pk]),
        ("DELETE FROM billing_payer WHERE id = %s", [payer.pk]),
        ("UPDATE billing_eligibilityassertion SET member_id = %s", [987654321]),
    )
    for sql, params in attempts:
        with pytest.raises(REFUSED), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    # then the assertion still points at both
    row = EligibilityAssertion.objects.get()
    assert (row.member_id, row.payer_id) == (member.pk, payer.pk)
    assert (
        Member.objects.filter(pk=member.pk).exists() and Payer.objects.filter(pk=payer.pk).exists()
    )
