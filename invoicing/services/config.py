"""Invoicing configuration as a file (issue 12, build item 4): calendars, divisions, request types,
the feature configuration, accounts with memberships and characteristics.

`invoicing_config_load` validates the whole document first, collecting every violation named by
its path (`accounts[2].bill_cycle_day: expected 1-28, found 31`), and refuses with all of them;
only a valid document is written, in one transaction. Objects are matched by natural key
(calendar name, division code, request type code, account number, membership external_id within
its account, characteristic (type, effective_from)) and updated in place, so loading the same
file twice changes nothing the second time. Nothing is deleted: the file adds and updates.
Messages name paths and kinds of values, never a membership's external id (a member id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction

from billing.models import Payer
from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError
from invoicing.dates import WEEKDAY_CODES
from invoicing.holiday_import import holiday_dates
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
from invoicing.services.json_paths import PathReader, describe, unique
from invoicing.services.types import type_rule_violation

SECTIONS = ("calendars", "divisions", "request_types", "feature", "accounts")
KINDS = (
    "calendars",
    "holidays",
    "divisions",
    "request_types",
    "feature",
    "accounts",
    "memberships",
    "characteristics",
)
SMALL_INT_MAX = 32767


class ConfigInvalid(DomainError):
    """The document breaks rules; `violations` lists every one as 'path: what was expected'."""

    code = "invalid_config"

    def __init__(self, violations: list[str]) -> None:
        head = f"The invoicing configuration has {len(violations)} problem(s); nothing was written."
        super().__init__(head, details={"violations": violations})
        self.violations = violations


# --- reading the document --------------------------------------------------------------------


@dataclass
class _Plan:
    """The validated document, ready to write."""

    calendars: list[dict] = field(default_factory=list)
    divisions: list[dict] = field(default_factory=list)
    request_types: list[dict] = field(default_factory=list)
    feature: dict | None = None
    accounts: list[dict] = field(default_factory=list)


def _read_calendars(r: PathReader, doc: dict, plan: _Plan) -> None:
    seen: dict[str, str] = {}
    keys = ("name", "weekend_days", "holidays", "holidays_from")
    for path, item in r.items(doc, "calendars", "calendars"):
        entry = r.obj(item, path, keys)
        if entry is None:
            continue
        name = r.text(entry, "name", path, max_length=100)
        unique(r, seen, name, f"{path}.name", "calendar name")
        weekend = entry.get("weekend_days", ["SAT", "SUN"])
        expected = f"expected a list of {', '.join(WEEKDAY_CODES)}"
        if not isinstance(weekend, list):
            r.bad(f"{path}.weekend_days", f"{expected}, found {describe(weekend)}")
            weekend = None
        elif unknown := [describe(d) for d in weekend if d not in WEEKDAY_CODES]:
            r.bad(f"{path}.weekend_days", f"{expected}, found {', '.join(unknown)}")
            weekend = None
        elif len(set(weekend)) >= 7:
            r.bad(f"{path}.weekend_days", "expected at least one working weekday, found all seven")
            weekend = None
        else:
            weekend = [d for d in WEEKDAY_CODES if d in weekend]  # one spelling per set
        holidays: dict[date, tuple[str, str]] = {}
        for hpath, value in r.items(entry, "holidays", f"{path}.holidays"):
            day = r.day(value, hpath)
            if day is not None:
                holidays[day] = ("", Holiday.Source.MANUAL)
        source = entry.get("holidays_from")
        if source is not None:
            spath = f"{path}.holidays_from"
            spec = r.obj(source, spath, ("country", "years"))
            if spec is not None:
                country = r.text(spec, "country", spath, max_length=10)
                years = spec.get("years")
                if not isinstance(years, list) or not years:
                    r.bad(f"{spath}.years", f"expected a list of years, found {describe(years)}")
                elif country is not None:
                    try:
                        imported = holiday_dates(country, years)
                    except ValueError as exc:
                        r.bad(spath, str(exc))
                    else:
                        for day, hname in imported.items():
                            # A day also typed in by hand stays MANUAL but takes the name.
                            src = holidays.get(day, ("", Holiday.Source.IMPORTED))[1]
                            holidays[day] = (hname[:200], src)
        plan.calendars.append(
            {"name": name, "weekend_days": weekend, "holidays": holidays, "path": path}
        )


def _read_divisions(r: PathReader, doc: dict, plan: _Plan) -> None:
    seen: dict[str, str] = {}
    for path, item in r.items(doc, "divisions", "divisions"):
        entry = r.obj(item, path, ("code", "name", "work_calendar"))
        if entry is None:
            continue
        code = r.text(entry, "code", path, max_length=30)
        unique(r, seen, code, f"{path}.code", "division code")
        plan.divisions.append(
            {
                "code": code,
                "name": r.text(entry, "name", path, max_length=200, required=False) or "",
                "work_calendar": r.text(
                    entry, "work_calendar", path, max_length=100, required=False
                ),
                "path": path,
            }
        )


def _read_request_types(r: PathReader, doc: dict, plan: _Plan) -> None:
    seen: dict[str, str] = {}
    keys = (
        "code",
        "name",
        "invoice_mode",
        "bill_generation",
        "approval_required",
        "defer_charge_count",
        "wait_days",
        "threshold_days",
        "work_calendar",
    )
    modes = InvoiceRequestType.InvoiceMode.values
    generations = InvoiceRequestType.BillGeneration.values
    for path, item in r.items(doc, "request_types", "request_types"):
        entry = r.obj(item, path, keys)
        if entry is None:
            continue
        code = r.text(entry, "code", path, max_length=30)
        unique(r, seen, code, f"{path}.code", "request type code")
        name = r.text(entry, "name", path, max_length=200, required=False) or ""
        before = len(r.violations)
        row = {
            "code": code,
            "name": name,
            "invoice_mode": r.choice(entry, "invoice_mode", path, modes, None),
            "bill_generation": r.choice(entry, "bill_generation", path, generations, None),
            "approval_required": r.boolean(entry, "approval_required", path),
            "defer_charge_count": r.integer(
                entry, "defer_charge_count", path, low=0, high=2**31 - 1, default=None
            ),
            "wait_days": r.integer(entry, "wait_days", path, low=0, high=SMALL_INT_MAX, default=0),
            "threshold_days": r.integer(
                entry, "threshold_days", path, low=0, high=SMALL_INT_MAX, default=0
            ),
            "path": path,
        }
        # The combination rules only make sense once each of its fields is readable.
        if len(r.violations) == before:
            found = type_rule_violation(
                invoice_mode=row["invoice_mode"],
                bill_generation=row["bill_generation"],
                approval_required=row["approval_required"],
                defer_charge_count=row["defer_charge_count"],
            )
            if found is not None:
                rule_field, message = found
                prefix = f"{rule_field}: "
                message = message[len(prefix) :] if message.startswith(prefix) else message
                r.bad(f"{path}.{rule_field}", message)
        row["work_calendar"] = r.text(entry, "work_calendar", path, max_length=100, required=False)
        plan.request_types.append(row)


def _read_feature(r: PathReader, doc: dict, plan: _Plan) -> None:
    if doc.get("feature") is None:
        return
    entry = r.obj(doc["feature"], "feature", ("invoice_request_eligibility_char_type",))
    if entry is None:
        return
    char_type = r.text(entry, "invoice_request_eligibility_char_type", "feature", max_length=30)
    plan.feature = {"invoice_request_eligibility_char_type": char_type}


def _read_accounts(r: PathReader, doc: dict, plan: _Plan) -> None:
    seen: dict[str, str] = {}
    kinds, statuses = Membership.Kind.values, Membership.Status.values
    for path, item in r.items(doc, "accounts", "accounts"):
        entry = r.obj(
            item, path, ("number", "name", "bill_cycle_day", "division", "payer", "memberships")
        )
        if entry is None:
            continue
        number = r.text(entry, "number", path, max_length=40)
        unique(r, seen, number, f"{path}.number", "account number")
        account = {
            "number": number,
            "name": r.text(entry, "name", path, max_length=200, required=False) or "",
            "bill_cycle_day": r.integer(
                entry, "bill_cycle_day", path, low=1, high=28, default=None
            ),
            "division": r.text(entry, "division", path, max_length=30, required=False),
            "payer": r.text(entry, "payer", path, max_length=30, required=False),
            "memberships": [],
            "path": path,
        }
        if "bill_cycle_day" not in entry:
            r.bad(f"{path}.bill_cycle_day", "expected 1-28, found nothing")
        seen_members: dict[str, str] = {}
        for mpath, mitem in r.items(entry, "memberships", f"{path}.memberships"):
            m = r.obj(mitem, mpath, ("external_id", "kind", "status", "characteristics"))
            if m is None:
                continue
            external_id = r.text(m, "external_id", mpath, max_length=64)
            unique(r, seen_members, external_id, f"{mpath}.external_id", "membership external_id")
            membership = {
                "external_id": external_id,
                "kind": r.choice(m, "kind", mpath, kinds, Membership.Kind.INDIVIDUAL),
                "status": r.choice(m, "status", mpath, statuses, Membership.Status.ENROLLED),
                "characteristics": [],
            }
            seen_chars: dict[str, str] = {}
            for cpath, citem in r.items(m, "characteristics", f"{mpath}.characteristics"):
                c = r.obj(citem, cpath, ("type", "value", "effective_from"))
                if c is None:
                    continue
                char = {
                    "type": r.text(c, "type", cpath, max_length=30),
                    "value": r.text(c, "value", cpath, max_length=100),
                    "effective_from": r.day(c.get("effective_from"), f"{cpath}.effective_from"),
                }
                if char["type"] and char["effective_from"]:
                    key = f"{char['type']}@{char['effective_from']}"
                    unique(r, seen_chars, key, cpath, "characteristic (type, effective_from)")
                membership["characteristics"].append(char)
            account["memberships"].append(membership)
        plan.accounts.append(account)


def _check_references(r: PathReader, tenant, plan: _Plan) -> None:
    """Calendars and divisions named in the file or already stored; payers already stored."""
    calendars = {c["name"] for c in plan.calendars} | set(
        WorkCalendar.objects.filter(tenant=tenant).values_list("name", flat=True)
    )
    divisions = {d["code"] for d in plan.divisions} | set(
        Division.objects.filter(tenant=tenant).values_list("code", flat=True)
    )
    payers = set(Payer.objects.filter(tenant=tenant).values_list("code", flat=True))
    for row in plan.divisions + plan.request_types:
        name = row["work_calendar"]
        if name is not None and name not in calendars:
            r.bad(f"{row['path']}.work_calendar", f"no calendar named {name!r}")
    for row in plan.accounts:
        if row["division"] is not None and row["division"] not in divisions:
            r.bad(f"{row['path']}.division", f"no division with code {row['division']!r}")
        if row["payer"] is not None and row["payer"] not in payers:
            r.bad(f"{row['path']}.payer", f"no payer with code {row['payer']!r}")


def config_validate(*, tenant, data: Any) -> _Plan:
    """The document as a plan to write, or ConfigInvalid listing every violation by path."""
    r = PathReader()
    plan = _Plan()
    doc = r.obj(data, "", SECTIONS)
    if doc is not None:
        _read_calendars(r, doc, plan)
        _read_divisions(r, doc, plan)
        _read_request_types(r, doc, plan)
        _read_feature(r, doc, plan)
        _read_accounts(r, doc, plan)
        _check_references(r, tenant, plan)
    if r.violations:
        raise ConfigInvalid(r.violations)
    return plan


# --- writing -------------------------------------------------------------------------------


class _Counts:
    def __init__(self) -> None:
        self.by_kind = {k: {"created": 0, "updated": 0, "unchanged": 0} for k in KINDS}

    def upsert(self, kind: str, model, lookup: dict, values: dict):
        """Create, update or leave one object by its natural key; count which."""
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            obj = model.objects.create(**lookup, **values)
            self.by_kind[kind]["created"] += 1
            return obj
        changed = [k for k, v in values.items() if getattr(obj, k) != v]
        if changed:
            for k in changed:
                setattr(obj, k, values[k])
            obj.save(update_fields=changed)
            self.by_kind[kind]["updated"] += 1
        else:
            self.by_kind[kind]["unchanged"] += 1
        return obj

    @property
    def changes(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.by_kind.values())


def _write(tenant, plan: _Plan, counts: _Counts) -> None:
    calendars = {c.name: c for c in WorkCalendar.objects.filter(tenant=tenant)}
    for row in plan.calendars:
        cal = counts.upsert(
            "calendars",
            WorkCalendar,
            {"tenant": tenant, "name": row["name"]},
            {"weekend_days": row["weekend_days"]},
        )
        calendars[cal.name] = cal
        for day, (name, source) in sorted(row["holidays"].items()):
            counts.upsert(
                "holidays",
                Holiday,
                {"calendar": cal, "day": day},
                {"tenant": tenant, "name": name, "source": source},
            )
    divisions = {d.code: d for d in Division.objects.filter(tenant=tenant)}
    for row in plan.divisions:
        div = counts.upsert(
            "divisions",
            Division,
            {"tenant": tenant, "code": row["code"]},
            {"name": row["name"], "work_calendar": calendars.get(row["work_calendar"])},
        )
        divisions[div.code] = div
    for row in plan.request_types:
        values = {k: row[k] for k in _TYPE_FIELDS}
        values["work_calendar"] = calendars.get(row["work_calendar"])
        counts.upsert(
            "request_types", InvoiceRequestType, {"tenant": tenant, "code": row["code"]}, values
        )
    if plan.feature is not None:
        counts.upsert("feature", FeatureConfiguration, {"tenant": tenant}, plan.feature)
    payers = {p.code: p for p in Payer.objects.filter(tenant=tenant)}
    for row in plan.accounts:
        account = counts.upsert(
            "accounts",
            Account,
            {"tenant": tenant, "number": row["number"]},
            {
                "name": row["name"],
                "bill_cycle_day": row["bill_cycle_day"],
                "division": divisions.get(row["division"]),
                "payer": payers.get(row["payer"]),
            },
        )
        for m in row["memberships"]:
            membership = counts.upsert(
                "memberships",
                Membership,
                {"account": account, "external_id": m["external_id"]},
                {"tenant": tenant, "kind": m["kind"], "status": m["status"]},
            )
            for c in m["characteristics"]:
                counts.upsert(
                    "characteristics",
                    MembershipCharacteristic,
                    {
                        "membership": membership,
                        "type": c["type"],
                        "effective_from": c["effective_from"],
                    },
                    {"tenant": tenant, "value": c["value"]},
                )


_TYPE_FIELDS = (
    "name",
    "invoice_mode",
    "bill_generation",
    "approval_required",
    "defer_charge_count",
    "wait_days",
    "threshold_days",
)


def invoicing_config_load(*, actor: Actor, data: Any) -> dict[str, dict[str, int]]:
    """Validate, then write the whole configuration at once; counts per kind of object."""
    actor.require(S.INVOICING_TYPE_MANAGE)
    tenant = actor.tenant
    plan = config_validate(tenant=tenant, data=data)
    counts = _Counts()
    with transaction.atomic():
        _write(tenant, plan, counts)
        if counts.changes:
            # A load that changes nothing leaves no trace, so a second load is a true no-op.
            audit_record(
                tenant=tenant,
                actor=actor,
                action="INVOICING_CONFIG_LOADED",
                object_type="invoicing.configuration",
                object_id=tenant.slug,
                payload=counts.by_kind,
            )
    return counts.by_kind
