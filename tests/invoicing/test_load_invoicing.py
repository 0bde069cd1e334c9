"""manage.py load_invoicing: invoicing configuration from a file, idempotent, all or nothing,
every violation named by path (issue 12, build item 4)."""

from __future__ import annotations

import copy
import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Payer
from core import scopes as S
from core.exceptions import ScopeDenied
from core.models import AuditEntry
from invoicing.models import (
    Account,
    Division,
    FeatureConfiguration,
    Holiday,
    InvoiceRequestType,
    Membership,
    MembershipCharacteristic,
    WorkCalendar,
)
from invoicing.services.config import ConfigInvalid, invoicing_config_load

MODELS = (
    WorkCalendar,
    Holiday,
    Division,
    InvoiceRequestType,
    FeatureConfiguration,
    Account,
    Membership,
    MembershipCharacteristic,
)

VALID = {
    "calendars": [
        {
            "name": "US federal",
            "weekend_days": ["SAT", "SUN"],
            "holidays": ["2026-12-24"],
            "holidays_from": {"country": "US", "years": [2026]},
        },
        {"name": "Gulf", "weekend_days": ["FRI", "SAT"]},
    ],
    "divisions": [
        {"code": "EAST", "name": "East", "work_calendar": "US federal"},
        {"code": "GULF", "work_calendar": "Gulf"},
    ],
    "request_types": [
        {
            "code": "MR-APPROVE",
            "invoice_mode": "MANUAL",
            "bill_generation": "REGULAR",
            "approval_required": True,
            "defer_charge_count": 50,
            "wait_days": 1,
            "threshold_days": 0,
            "work_calendar": None,
        },
        {"code": "MR", "invoice_mode": "MANUAL", "bill_generation": "REGULAR"},
        {
            "code": "MT",
            "invoice_mode": "MANUAL",
            "bill_generation": "TRIAL",
            "approval_required": False,
        },
        {
            "code": "AUTO",
            "invoice_mode": "AUTOMATIC",
            "bill_generation": "REGULAR",
            "wait_days": 2,
            "threshold_days": 5,
            "work_calendar": "Gulf",
        },
    ],
    "feature": {"invoice_request_eligibility_char_type": "INVRACTE"},
    "accounts": [
        {
            "number": "A-100",
            "name": "Smith household",
            "bill_cycle_day": 28,
            "division": "EAST",
            "payer": "ACME",
            "memberships": [
                {
                    "external_id": "M-1",
                    "kind": "INDIVIDUAL",
                    "status": "ENROLLED",
                    "characteristics": [
                        {"type": "INVRACTE", "value": "Y", "effective_from": "2026-01-01"},
                        {"type": "INVRACTE", "value": "N", "effective_from": "2026-06-01"},
                    ],
                },
                {"external_id": "G-1", "kind": "GROUP", "status": "TERMINATED"},
            ],
        },
        {"number": "A-200", "bill_cycle_day": 1},
    ],
}


@pytest.fixture
def acme(tenant):
    return Payer.objects.create(tenant=tenant, code="ACME", name="Acme Insurance")


def write(tmp_path, data, name="invoicing.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def load(tenant, path) -> dict:
    out = io.StringIO()
    call_command("load_invoicing", "--tenant", tenant.slug, path, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def refused(tenant, path) -> tuple[list[str], str]:
    """Run a load that must be refused: (stderr lines, the error)."""
    err = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "load_invoicing", "--tenant", tenant.slug, path, stdout=io.StringIO(), stderr=err
        )
    return err.getvalue().splitlines(), str(exc.value)


def snapshot(tenant) -> dict:
    """Every configuration row with its fields, to compare before and after."""
    return {
        m.__name__: sorted(
            tuple(sorted((k, str(v)) for k, v in row.items())) for row in m.objects.values()
        )
        for m in MODELS
    }


def config_audits(tenant):
    return AuditEntry.objects.filter(tenant=tenant, action="INVOICING_CONFIG_LOADED")


# --- a valid file --------------------------------------------------------------------------


def test_load_invoicing_valid_file_creates_every_object(tenant, acme, tmp_path):
    counts = load(tenant, write(tmp_path, VALID))

    us = WorkCalendar.objects.get(tenant=tenant, name="US federal")
    assert us.weekend_days == ["SAT", "SUN"]
    assert WorkCalendar.objects.get(tenant=tenant, name="Gulf").weekend_days == ["FRI", "SAT"]
    observed = Holiday.objects.get(calendar=us, day=date(2026, 7, 3))
    assert (observed.name, observed.source) == ("Independence Day (observed)", "IMPORTED")
    assert Holiday.objects.get(calendar=us, day=date(2026, 12, 24)).source == "MANUAL"
    # The US package has 11 federal holidays in 2026 plus the observed Friday, plus the typed day.
    assert us.holidays.count() == 13

    east = Division.objects.get(tenant=tenant, code="EAST")
    assert (east.name, east.work_calendar) == ("East", us)

    types = {t.code: t for t in InvoiceRequestType.objects.filter(tenant=tenant)}
    assert set(types) == {"MR-APPROVE", "MR", "MT", "AUTO"}
    assert types["MR-APPROVE"].approval_required is True
    assert types["MR-APPROVE"].defer_charge_count == 50
    assert types["MR"].approval_required is False and types["MR"].defer_charge_count is None
    assert (types["AUTO"].wait_days, types["AUTO"].threshold_days) == (2, 5)
    assert types["AUTO"].work_calendar.name == "Gulf"

    assert FeatureConfiguration.objects.get(
        tenant=tenant
    ).invoice_request_eligibility_char_type == ("INVRACTE")
    account = Account.objects.get(tenant=tenant, number="A-100")
    assert (account.bill_cycle_day, account.division, account.payer) == (28, east, acme)
    bare = Account.objects.get(tenant=tenant, number="A-200")
    assert (bare.division, bare.payer, bare.bill_cycle_day) == (None, None, 1)
    m1 = Membership.objects.get(account=account, external_id="M-1")
    assert (m1.kind, m1.status) == ("INDIVIDUAL", "ENROLLED")
    g1 = Membership.objects.get(account=account, external_id="G-1")
    assert (g1.kind, g1.status) == ("GROUP", "TERMINATED")
    chars = list(m1.characteristics.order_by("effective_from").values_list("value", flat=True))
    assert chars == ["Y", "N"]

    assert counts["accounts"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert counts["holidays"]["created"] == 13
    assert counts["request_types"]["created"] == 4
    audits = list(config_audits(tenant))
    assert len(audits) == 1
    assert audits[0].payload["memberships"]["created"] == 2


def test_load_invoicing_twice_changes_nothing_the_second_time(tenant, acme, tmp_path):
    path = write(tmp_path, VALID)
    load(tenant, path)
    before = snapshot(tenant)

    counts = load(tenant, path)

    assert snapshot(tenant) == before
    assert all(c["created"] == 0 and c["updated"] == 0 for c in counts.values())
    assert counts["holidays"]["unchanged"] == 13
    assert config_audits(tenant).count() == 1


def test_load_invoicing_updates_existing_objects_by_natural_key(tenant, acme, tmp_path):
    load(tenant, write(tmp_path, VALID))
    account_pk = Account.objects.get(tenant=tenant, number="A-100").pk
    changed = copy.deepcopy(VALID)
    changed["accounts"][0]["bill_cycle_day"] = 15
    changed["accounts"][0]["payer"] = None
    changed["accounts"][0]["memberships"][0]["status"] = "CANCELLED"
    changed["accounts"][0]["memberships"][0]["characteristics"][1]["value"] = "Y"
    changed["request_types"][1]["wait_days"] = 3
    changed["calendars"][1]["weekend_days"] = ["SAT", "FRI"]  # same set, other order

    counts = load(tenant, write(tmp_path, changed, "changed.json"))

    account = Account.objects.get(tenant=tenant, number="A-100")
    assert account.pk == account_pk
    assert (account.bill_cycle_day, account.payer) == (15, None)
    assert Membership.objects.get(account=account, external_id="M-1").status == "CANCELLED"
    assert MembershipCharacteristic.objects.get(
        membership__account=account, effective_from=date(2026, 6, 1)
    ).value == ("Y")
    assert InvoiceRequestType.objects.get(tenant=tenant, code="MR").wait_days == 3
    assert counts["accounts"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert counts["characteristics"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert counts["calendars"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert Account.objects.filter(tenant=tenant).count() == 2
    assert config_audits(tenant).count() == 2


def test_load_invoicing_is_per_tenant(world, acme, tmp_path):
    load(world.tenant, write(tmp_path, VALID))
    Payer.objects.create(tenant=world.other_tenant, code="ACME", name="Acme elsewhere")
    load(world.other_tenant, write(tmp_path, VALID))
    assert Account.objects.filter(number="A-100").count() == 2
    other = Account.objects.get(tenant=world.other_tenant, number="A-100")
    assert other.payer.tenant == world.other_tenant
    assert other.division.tenant == world.other_tenant


# --- refusals ------------------------------------------------------------------------------


def broken_file() -> dict:
    data = copy.deepcopy(VALID)
    data["calendars"][0]["holidays"] = ["2026-12-24", "2026-02-30", "24/12/2026"]
    data["calendars"][0]["holidays_from"] = {"country": "XX", "years": [2026]}
    data["calendars"][1]["weekend_days"] = ["FRI", "SATURDAY"]
    data["divisions"][1]["work_calendar"] = "Nowhere"
    data["request_types"][2]["approval_required"] = True  # MANUAL+TRIAL with approval
    data["request_types"][3]["defer_charge_count"] = 10  # AUTOMATIC with a defer count
    data["request_types"].append(
        {"code": "AT", "invoice_mode": "AUTOMATIC", "bill_generation": "TRIAL"}
    )
    data["request_types"].append({"code": "MR", "invoice_mode": "manual", "wait_days": -1})
    data["accounts"][0]["payer"] = "NOPE"
    data["accounts"][0]["memberships"][0]["kind"] = "FAMILY"
    data["accounts"][0]["memberships"][0]["characteristics"][1]["effective_from"] = "2026-1-6"
    data["accounts"][0]["memberships"][1]["external_id"] = "M-1"
    data["accounts"].append({"number": "A-300", "bill_cycle_day": 31, "colour": "red"})
    return data


EXPECTED_VIOLATIONS = [
    "calendars[0].holidays[1]: expected YYYY-MM-DD",
    "calendars[0].holidays[2]: expected YYYY-MM-DD",
    "calendars[0].holidays_from: country: expected a country code",
    "calendars[1].weekend_days: expected a list of MON, TUE, WED, THU, FRI, SAT, SUN, "
    "found 'SATURDAY'",
    "request_types[2].approval_required: approval can be required only for MANUAL+REGULAR",
    "request_types[3].defer_charge_count: only MANUAL+REGULAR types defer processing",
    "request_types[4].bill_generation: AUTOMATIC+TRIAL is not an allowed combination",
    "request_types[5].code: duplicate request type code, already given at request_types[1].code",
    "request_types[5].invoice_mode: expected MANUAL or AUTOMATIC, found 'manual'",
    "request_types[5].bill_generation: expected REGULAR or TRIAL, found nothing",
    "request_types[5].wait_days: expected 0-32767, found -1",
    "accounts[0].memberships[0].kind: expected INDIVIDUAL or GROUP, found 'FAMILY'",
    "accounts[0].memberships[0].characteristics[1].effective_from: expected YYYY-MM-DD",
    "accounts[0].memberships[1].external_id: duplicate membership external_id, already given "
    "at accounts[0].memberships[0].external_id",
    "accounts[2].colour: unknown key, expected one of number, name, bill_cycle_day, division, "
    "payer, memberships",
    "accounts[2].bill_cycle_day: expected 1-28, found 31",
    "divisions[1].work_calendar: no calendar named 'Nowhere'",
    "accounts[0].payer: no payer with code 'NOPE'",
]


def test_load_invoicing_names_every_violation_by_path_and_writes_nothing(tenant, acme, tmp_path):
    lines, error = refused(tenant, write(tmp_path, broken_file()))

    assert len(lines) == len(EXPECTED_VIOLATIONS), "\n".join(lines)
    for line, expected in zip(lines, EXPECTED_VIOLATIONS, strict=True):
        assert line.startswith(expected), f"{line!r} does not start with {expected!r}"
    assert "2026-02-30" in lines[0]  # what was found is named
    assert f"{len(EXPECTED_VIOLATIONS)} problem(s); nothing was written" in error
    assert all(m.objects.count() == 0 for m in MODELS)
    assert config_audits(tenant).count() == 0


def test_load_invoicing_refused_file_leaves_an_earlier_load_untouched(tenant, acme, tmp_path):
    load(tenant, write(tmp_path, VALID))
    before = snapshot(tenant)
    data = copy.deepcopy(VALID)
    data["accounts"][0]["name"] = "Renamed"  # valid change ...
    data["accounts"][1]["bill_cycle_day"] = 0  # ... refused with the whole file

    lines, _ = refused(tenant, write(tmp_path, data, "bad.json"))

    assert lines == ["accounts[1].bill_cycle_day: expected 1-28, found 0"]
    assert snapshot(tenant) == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], ["(file): expected an object, found a list"]),
        (
            {"account": []},
            [
                "account: unknown key, expected one of calendars, divisions, "
                "request_types, feature, accounts"
            ],
        ),
        ({"accounts": {"number": "A"}}, ["accounts: expected a list, found an object"]),
        ({"accounts": ["A-1"]}, ["accounts[0]: expected an object, found 'A-1'"]),
        (
            {"accounts": [{"number": "", "bill_cycle_day": True}]},
            [
                "accounts[0].number: expected text, found ''",
                "accounts[0].bill_cycle_day: expected 1-28, found true",
            ],
        ),
        (
            {"accounts": [{"number": "A"}]},
            ["accounts[0].bill_cycle_day: expected 1-28, found nothing"],
        ),
        (
            {
                "accounts": [
                    {"number": "A", "bill_cycle_day": 1},
                    {"number": "A", "bill_cycle_day": 2},
                ]
            },
            ["accounts[1].number: duplicate account number, already given at accounts[0].number"],
        ),
        (
            {"feature": {"invoice_request_eligibility_char_type": 7}},
            ["feature.invoice_request_eligibility_char_type: expected text, found 7"],
        ),
        (
            {
                "calendars": [
                    {"name": "C", "weekend_days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]}
                ]
            },
            ["calendars[0].weekend_days: expected at least one working weekday, found all seven"],
        ),
        (
            {"calendars": [{"name": "C", "holidays_from": {"country": "US", "years": 2026}}]},
            ["calendars[0].holidays_from.years: expected a list of years, found 2026"],
        ),
        (
            {
                "request_types": [
                    {
                        "code": "X",
                        "invoice_mode": "MANUAL",
                        "bill_generation": "REGULAR",
                        "approval_required": "yes",
                    }
                ]
            },
            ["request_types[0].approval_required: expected true or false, found 'yes'"],
        ),
        (
            {
                "accounts": [
                    {
                        "number": "A",
                        "bill_cycle_day": 1,
                        "memberships": [
                            {
                                "external_id": "M",
                                "characteristics": [
                                    {"type": "T", "value": "Y", "effective_from": "2026-01-01"},
                                    {"type": "T", "value": "N", "effective_from": "2026-01-01"},
                                ],
                            }
                        ],
                    }
                ]
            },
            [
                "accounts[0].memberships[0].characteristics[1]: duplicate characteristic "
                "(type, effective_from), already given at accounts[0].memberships[0]."
                "characteristics[0]"
            ],
        ),
    ],
)
def test_load_invoicing_shape_violations(tenant, data, expected):
    with pytest.raises(ConfigInvalid) as exc:
        invoicing_config_load(actor=_owner(tenant), data=data)
    assert exc.value.violations == expected
    assert all(m.objects.count() == 0 for m in MODELS)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"accounts": None, "calendars": None}, []),
        ({"feature": None}, []),
        (
            {"divisions": [{"code": "D" * 31}]},
            ["divisions[0].code: expected at most 30 characters, found 31"],
        ),
        ({"calendars": [7]}, ["calendars[0]: expected an object, found 7"]),
        ({"divisions": [None]}, ["divisions[0]: expected an object, found nothing"]),
        ({"request_types": [[]]}, ["request_types[0]: expected an object, found a list"]),
        ({"feature": "INVRACTE"}, ["feature: expected an object, found 'INVRACTE'"]),
        (
            {"calendars": [{"name": "C", "weekend_days": "SAT"}]},
            [
                "calendars[0].weekend_days: expected a list of MON, TUE, WED, THU, FRI, SAT, SUN, "
                "found 'SAT'"
            ],
        ),
        (
            {"calendars": [{"name": "C", "holidays_from": "US"}]},
            ["calendars[0].holidays_from: expected an object, found 'US'"],
        ),
        (
            {"calendars": [{"name": "C", "holidays_from": {"years": [2026]}}]},
            ["calendars[0].holidays_from.country: expected text, found nothing"],
        ),
        (
            {
                "accounts": [
                    {
                        "number": "A",
                        "bill_cycle_day": 1,
                        "division": "NOPE",
                        "memberships": [1, {"external_id": "M", "characteristics": [2]}],
                    }
                ]
            },
            [
                "accounts[0].memberships[0]: expected an object, found 1",
                "accounts[0].memberships[1].characteristics[0]: expected an object, found 2",
                "accounts[0].division: no division with code 'NOPE'",
            ],
        ),
    ],
)
def test_load_invoicing_more_shape_violations(tenant, data, expected):
    if not expected:
        invoicing_config_load(actor=_owner(tenant), data=data)
        assert all(m.objects.count() == 0 for m in MODELS)
        return
    with pytest.raises(ConfigInvalid) as exc:
        invoicing_config_load(actor=_owner(tenant), data=data)
    assert exc.value.violations == expected


def _owner(tenant):
    from core.actors import Actor

    return Actor.system_for(tenant)


def test_load_invoicing_references_stored_calendars_and_divisions(tenant, tmp_path):
    load(tenant, write(tmp_path, {"calendars": [{"name": "Stored"}], "divisions": [{"code": "D"}]}))
    data = {
        "request_types": [
            {
                "code": "MR",
                "invoice_mode": "MANUAL",
                "bill_generation": "REGULAR",
                "work_calendar": "Stored",
            }
        ],
        "accounts": [{"number": "A", "bill_cycle_day": 5, "division": "D"}],
    }
    load(tenant, write(tmp_path, data, "second.json"))
    assert InvoiceRequestType.objects.get(code="MR").work_calendar.name == "Stored"
    assert Account.objects.get(number="A").division.code == "D"


def test_load_invoicing_needs_the_type_manage_scope(world):
    manager = world.actor(S.Role.BILLING_MANAGER)
    with pytest.raises(ScopeDenied):
        invoicing_config_load(actor=manager, data={"calendars": [{"name": "C"}]})
    assert WorkCalendar.objects.count() == 0
    invoicing_config_load(actor=world.actor(S.Role.ADMIN), data={"calendars": [{"name": "C"}]})
    assert WorkCalendar.objects.count() == 1


def test_load_invoicing_unreadable_file_and_unknown_tenant(tenant, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="cannot read JSON"):
        call_command("load_invoicing", "--tenant", tenant.slug, str(bad))
    with pytest.raises(CommandError, match="No tenant with slug 'nobody'"):
        call_command("load_invoicing", "--tenant", "nobody", write(tmp_path, VALID))
