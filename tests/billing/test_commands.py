"""Billing's management commands: trigger_run, export_roster, export_decisions,
replay_decision, load_rules and the billing part of load_demo (SPEC 4, 9)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.engine.months import add_months
from billing.models import BillingRun, Decision, Payer, RuleVersion
from core.models import AuditEntry, Tenant
from tests.billing import api_builders as b


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Rosters go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


def run(*args, **options) -> tuple[str, str]:
    """Run a command; what it wrote to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def fails(*args) -> str:
    """Run a command that must fail; its error message."""
    with pytest.raises(CommandError) as exc:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    return str(exc.value)


def trigger(*args) -> dict:
    """trigger_run for tenant alpha; its single JSON line."""
    out, _ = run("trigger_run", "--tenant", "alpha", *args)
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


# --- trigger_run ------------------------------------------------------------------------------


def test_trigger_run_sync_prints_one_json_line_with_the_summary(world):
    # given a payer with two billable members
    payer = b.billed_payer(world.tenant, members=2)

    # when October is run synchronously
    result = trigger("--month", "2026-10", "--payer", payer.code.lower(), "--sync")

    # then one JSON line names the run, its final status and summary
    assert set(result) == {"run", "status", "summary"}
    assert result["status"] == "COMPLETED"
    assert result["summary"]["billable_members"] == 2
    assert result["summary"]["total_charge"] == "825.00"
    run = BillingRun.objects.get(pk=result["run"])
    assert run.mode == "PRODUCTION"
    assert run.month == date(2026, 10, 1)
    assert run.status == "COMPLETED"
    assert run.decisions.count() == 2
    assert run.final_hash
    assert run.roster  # production runs freeze their roster


def test_trigger_run_all_payers(world):
    # given two active payers and an inactive one
    first = b.billed_payer(world.tenant)
    second = b.billed_payer(world.tenant)
    b.payer(world.tenant, active=False)

    # when every payer is run
    result = trigger("--month", "2026-10", "--all-payers", "--sync")

    # then the run covers the active ones
    run = BillingRun.objects.get(pk=result["run"])
    assert sorted(run.payers.values_list("code", flat=True)) == sorted([first.code, second.code])
    assert set(result["summary"]["by_payer"]) == {first.code, second.code}


def test_trigger_run_simulation_is_never_authoritative(world):
    # given a payer
    payer = b.billed_payer(world.tenant)

    # when a simulation is run
    result = trigger("--month", "2026-10", "--payer", payer.code, "--mode", "simulation", "--sync")

    # then it completed as a simulation, with no roster and no audit closure
    run = BillingRun.objects.get(pk=result["run"])
    assert run.mode == "SIMULATION"
    assert result["status"] == "COMPLETED"
    assert not run.roster
    assert not run.final_hash
    # and production can still be triggered for the month
    production = trigger("--month", "2026-10", "--payer", payer.code, "--sync")
    assert production["status"] == "COMPLETED"


def test_trigger_run_without_payers_is_refused(world):
    b.billed_payer(world.tenant)
    message = fails("trigger_run", "--tenant", "alpha", "--month", "2026-10", "--sync")
    assert "--payer" in message and "--all-payers" in message
    assert not BillingRun.objects.exists()


def test_trigger_run_bad_arguments_are_refused(world):
    payer = b.billed_payer(world.tenant)
    assert "--month" in fails("trigger_run", "--tenant", "alpha", "--month", "oct", "--all-payers")
    assert "NOPE" in fails("trigger_run", "--tenant", "alpha", "--payer", "NOPE")
    assert "nowhere" in fails("trigger_run", "--tenant", "nowhere", "--payer", payer.code)
    future = add_months(timezone.localdate().replace(day=1), 1)
    message = fails(
        "trigger_run", "--tenant", "alpha", "--month", f"{future:%Y-%m}", "--all-payers"
    )
    assert "future" in message
    assert not BillingRun.objects.exists()


def test_trigger_run_regenerate_makes_version_2_and_supersedes(world):
    # given a completed production run
    payer = b.billed_payer(world.tenant)
    old = b.completed_run(world.tenant, [payer])

    # when it is regenerated with a reason
    result = trigger("--regenerate", str(old.pk), "--reason", "late eligibility file", "--sync")

    # then version 2 completed and the old run is superseded
    new = BillingRun.objects.get(pk=result["run"])
    assert result["status"] == "COMPLETED"
    assert new.version == 2
    assert new.supersedes_id == old.pk
    assert new.reason == "late eligibility file"
    old.refresh_from_db()
    assert old.status == "SUPERSEDED"

    # and a regeneration without a reason is refused
    assert "reason" in fails("trigger_run", "--tenant", "alpha", "--regenerate", str(new.pk))


def test_trigger_run_conflict_is_a_command_error(world):
    # given October already has a completed production run
    payer = b.billed_payer(world.tenant)
    done = b.completed_run(world.tenant, [payer])

    # when it is triggered again
    message = fails(
        "trigger_run", "--tenant", "alpha", "--month", "2026-10", "--payer", payer.code, "--sync"
    )

    # then the error points to the existing run and nothing new exists
    assert f"#{done.pk}" in message
    assert "regenerate" in message
    assert BillingRun.objects.count() == 1


# --- exports ----------------------------------------------------------------------------------


@pytest.fixture
def finished(world):
    """A completed October run: two billable members, one pending, one open exception."""
    payer = b.payer_with_rules(world.tenant, "CMDPAY")
    b.member(world.tenant, payer, "C-1")
    b.member(world.tenant, payer, "C-2")
    b.member(world.tenant, payer, "C-3", status="PENDING")
    b.member(world.tenant, payer, "C-4", benefit_suffix=b.UNKNOWN_SUFFIX)
    return b.completed_run(world.tenant, [payer])


def test_export_roster_to_stdout(world, finished, capsys):
    # when the roster is exported to standard output
    call_command("export_roster", "--run", str(finished.pk))
    out = capsys.readouterr().out

    # then it holds the billable rows and the footer, and the download is audited
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "member_id"
    assert [r[0] for r in rows[1:-3]] == ["C-1", "C-2"]
    assert rows[-3:] == [
        ["# rows", "2"],
        ["# total_amount", "825.00"],
        ["# unresolved_exceptions", "1"],
    ]
    entry = AuditEntry.objects.get(tenant=world.tenant, action="phi.export")
    assert entry.object_id == str(finished.pk)
    assert entry.payload == {"export": "roster"}


def test_export_roster_to_a_file(world, finished, tmp_path):
    # when the roster is written to a file
    target = tmp_path / "roster.csv"
    _, err = run("export_roster", "--run", str(finished.pk), "-o", str(target))

    # then the file is the same roster the API serves
    assert f"wrote {target}" in err
    text = target.read_text(encoding="utf-8")
    assert text.startswith("member_id,first_name,last_name,payer,month,")
    assert text.endswith("# unresolved_exceptions,1\n")
    assert text.count("BILLED_ACTIVE") == 2


def test_export_decisions_lists_every_decision(world, finished, capsys):
    call_command("export_decisions", "--run", str(finished.pk))
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == [
        "member_id",
        "payer_code",
        "month",
        "decision_class",
        "billable_days",
        "amount",
        "tier",
        "rule_version",
    ]
    assert sorted(r[0] for r in rows[1:]) == ["C-1", "C-2", "C-3", "C-4"]
    assert AuditEntry.objects.get(tenant=world.tenant, action="phi.export").payload == {
        "export": "decisions"
    }


def test_exports_of_a_missing_or_unfinished_run_are_refused(world):
    assert "999999" in fails("export_roster", "--run", "999999")
    queued = b.trigger(world.tenant, [b.billed_payer(world.tenant)])
    assert "QUEUED" in fails("export_decisions", "--run", str(queued.pk))


# --- replay_decision --------------------------------------------------------------------------


def test_replay_decision_prints_old_and_new_as_json(world, finished):
    # given a billable decision and a rule version v2 with another rate
    decision = Decision.objects.get(run=finished, member__external_id="C-1")
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "400.00"}]
    payer = decision.payer
    b.rule_version(world.tenant, payer, version="v2", raw=b.params(pricing_tiers=tiers))

    # when it is replayed under v2
    out, _ = run("replay_decision", "--decision", str(decision.pk), "--rule-version", "v2")

    # then old and new are printed as JSON and only an audit entry was written
    result = json.loads(out)
    assert result["decision"] == decision.pk
    assert result["old"]["amount"] == "412.50"
    assert result["new"]["amount"] == "400.00"
    assert result["new"]["rule_version"] == "v2"
    assert result["changed"] is True
    assert Decision.objects.filter(run=finished).count() == 4
    assert AuditEntry.objects.filter(action="DECISION_REPLAYED").count() == 1

    # and unknown decisions or versions are refused
    assert "999999" in fails("replay_decision", "--decision", "999999", "--rule-version", "v2")
    assert "v7" in fails("replay_decision", "--decision", str(decision.pk), "--rule-version", "v7")


# --- load_rules -------------------------------------------------------------------------------


def _entry(code: str = "ACME", version: str = "2026.1", **params_changes) -> dict:
    return {
        "payer": {"code": code, "name": f"{code} Insurance"},
        "version": version,
        "effective_from": "2025-01-01",
        "status": "ACTIVE",
        "params": b.params(**params_changes),
    }


def test_load_rules_from_one_object_then_again_is_unchanged(world, tmp_path):
    # given a file with one rule version of a payer the tenant does not know yet
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(_entry()), encoding="utf-8")

    # when it is loaded
    out, _ = run("load_rules", "--tenant", "alpha", str(path))

    # then the payer and an ACTIVE version exist
    assert out.strip() == "ACME v2026.1: created, ACTIVE"
    payer = Payer.objects.get(tenant=world.tenant, code="ACME")
    assert payer.name == "ACME Insurance"
    rv = RuleVersion.objects.get(payer=payer)
    assert rv.status == "ACTIVE"
    assert rv.params == b.params()

    # when the same file is loaded again, nothing changes
    again, _ = run("load_rules", "--tenant", "alpha", str(path))
    assert again.strip() == "ACME v2026.1: unchanged, ACTIVE"
    assert RuleVersion.objects.filter(payer=payer).count() == 1


def test_load_rules_from_a_list(world, tmp_path):
    path = tmp_path / "rules.json"
    draft = {**_entry("ACME", "2"), "status": "DRAFT"}
    path.write_text(json.dumps([_entry("ACME", "1"), draft, _entry("ZENITH")]), encoding="utf-8")

    out, _ = run("load_rules", "--tenant", "alpha", str(path))

    assert out.strip().splitlines() == [
        "ACME v1: created, ACTIVE",
        "ACME v2: created, DRAFT",
        "ZENITH v2026.1: created, ACTIVE",
    ]
    assert RuleVersion.objects.filter(tenant=world.tenant).count() == 3


def test_load_rules_with_bad_params_names_the_path(world, tmp_path):
    # given a file whose second entry has a rate that is not an amount
    tiers = [{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "lots"}]
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps([_entry("ACME"), _entry("ZENITH", pricing_tiers=tiers)]), encoding="utf-8"
    )

    # when it is loaded, the error names the entry and the path inside the params
    message = fails("load_rules", "--tenant", "alpha", str(path))
    assert "entry 2" in message
    assert "pricing_tiers[0].rate" in message
    assert not RuleVersion.objects.filter(payer__code="ZENITH").exists()


def test_load_rules_changed_params_of_an_active_version_are_refused(world, tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(_entry()), encoding="utf-8")
    run("load_rules", "--tenant", "alpha", str(path))

    path.write_text(json.dumps(_entry(min_billable_days=3)), encoding="utf-8")
    message = fails("load_rules", "--tenant", "alpha", str(path))

    assert "ACTIVE" in message
    assert RuleVersion.objects.get(payer__code="ACME").params["min_billable_days"] == 1


def test_load_rules_unreadable_file_or_unknown_tenant(world, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert str(broken) in fails("load_rules", "--tenant", "alpha", str(broken))
    assert "nowhere" in fails("load_rules", "--tenant", "nowhere", str(broken))


# --- load_demo --------------------------------------------------------------------------------


def test_load_demo_creates_rules_and_runs_once(db):
    # when the demo is loaded
    run("load_demo")

    # then both demo payers have an ACTIVE rule version
    tenant = Tenant.objects.get(slug="demo")
    for code in ("NORTHWIND", "BLUEPEAK"):
        assert RuleVersion.objects.filter(
            tenant=tenant, payer__code=code, status="ACTIVE"
        ).exists(), code

    # and the two previous months have completed production runs, the current a simulation
    this_month = timezone.localdate().replace(day=1)
    production = BillingRun.objects.filter(tenant=tenant, mode="PRODUCTION").order_by("month")
    assert [r.month for r in production] == [add_months(this_month, -2), add_months(this_month, -1)]
    assert all(r.status in BillingRun.DONE for r in production)
    assert all(r.decisions.exists() for r in production)
    simulation = BillingRun.objects.get(tenant=tenant, mode="SIMULATION")
    assert simulation.month == this_month
    assert simulation.status in BillingRun.DONE
    for r in BillingRun.objects.filter(tenant=tenant):
        assert sorted(r.payers.values_list("code", flat=True)) == ["BLUEPEAK", "NORTHWIND"]

    # when it is loaded again, no run and no rule version is added
    runs_before = BillingRun.objects.count()
    versions_before = RuleVersion.objects.count()
    run("load_demo")
    assert BillingRun.objects.count() == runs_before == 3
    assert RuleVersion.objects.count() == versions_before


def test_trigger_run_takes_several_payers_after_one_flag(world, tmp_path, settings):
    # given two payers with rules and members
    from io import StringIO

    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path
    p1 = b.payer_with_rules(world.tenant, "MULTI1")
    p2 = b.payer_with_rules(world.tenant, "MULTI2")
    b.member(world.tenant, p1)
    b.member(world.tenant, p2)
    out = StringIO()

    # when both are named after one --payer
    call_command(
        "trigger_run",
        "--tenant",
        world.tenant.slug,
        "--month",
        b.MONTH_TEXT,
        "--payer",
        "MULTI1",
        "MULTI2",
        "--mode",
        "simulation",
        "--sync",
        stdout=out,
    )

    # then one run covers both
    body = json.loads(out.getvalue())
    assert sorted(body["summary"]["by_payer"]) == ["MULTI1", "MULTI2"]
