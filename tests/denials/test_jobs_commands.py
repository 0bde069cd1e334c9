"""manage.py run_nightly and the scheduled task: what an operator sees."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from config.schedules import ensure_schedules
from denials import tasks
from denials.models import ClaimAlert, JobRun
from tests.denials.jobs_builders import claim, payer

TODAY = date(2026, 6, 30)


def _run(*args) -> dict:
    out = io.StringIO()
    call_command("run_nightly", *args, stdout=out)
    return json.loads(out.getvalue())


def test_run_nightly_one_job_with_a_fixed_day(world):
    # given a BUILT claim 7 days from its payer's limit on 2026-06-30
    p = payer(world.tenant, days=30)
    c = claim(world.tenant, payer_obj=p, service_date=TODAY - timedelta(days=23))

    # when the operator runs the timely-filing job for that day
    line = _run("--tenant", world.tenant.slug, "--job", "timely_filing", "--today", "2026-06-30")

    # then one JSON line reports the run, and the claim carries its 7-day warning
    assert line["tenant"] == "alpha" and line["as_of"] == "2026-06-30"
    (run,) = line["runs"]
    assert run["job"] == "timely_filing" and run["status"] == "SUCCEEDED"
    assert run["counts"] == {"checked": 1, "FILING_30": 0, "FILING_7": 1, "FILING_PAST": 0}
    assert ClaimAlert.objects.get(claim=c).kind == ClaimAlert.Kind.FILING_7


def test_run_nightly_refuses_a_bad_day_and_an_unknown_tenant(world):
    with pytest.raises(CommandError, match="--today: expected YYYY-MM-DD"):
        _run("--tenant", world.tenant.slug, "--today", "2026-02-30")
    with pytest.raises(CommandError, match="No tenant"):
        _run("--tenant", "nope")
    assert not JobRun.objects.exists()


def test_run_nightly_exits_with_an_error_when_a_job_failed(world):
    # given the whole cycle, where the charges part's jobs may fail on their own (recorded)
    out = io.StringIO()
    try:
        call_command("run_nightly", "--tenant", world.tenant.slug, stdout=out)
        failed = []
    except CommandError as exc:
        failed = [r["job"] for r in json.loads(out.getvalue())["runs"] if r["status"] == "FAILED"]
        assert str(exc).startswith(f"{len(failed)} job(s) failed")
    # then every job of the cycle has a run, failed or not, and the others succeeded
    assert JobRun.objects.filter(tenant=world.tenant).count() == 5
    assert set(JobRun.objects.exclude(job__in=failed).values_list("status", flat=True)) == {
        JobRun.Status.SUCCEEDED
    }


def test_run_nightly_is_off_with_jobs_disabled_unless_forced(world, settings):
    settings.JOBS_DISABLED = True
    with pytest.raises(CommandError, match="JOBS_DISABLED"):
        _run("--tenant", world.tenant.slug)
    line = _run("--tenant", world.tenant.slug, "--job", "stale_claims", "--force")
    assert [r["status"] for r in line["runs"]] == ["SUCCEEDED"]


def test_scheduled_task_runs_each_tenant_and_nothing_when_disabled(world, settings):
    # when the schedule's task runs, then every tenant got its cycle
    result = tasks.run_nightly()
    assert set(result) == {"alpha", "beta"}
    assert set(result["alpha"]) >= {"timely_filing", "stale_claims", "refresh_reporting_views"}
    # and with JOBS_DISABLED it does nothing
    settings.JOBS_DISABLED = True
    before = JobRun.objects.count()
    assert tasks.run_nightly() == {}
    assert JobRun.objects.count() == before


def test_the_nightly_schedule_is_created_and_removed(db):
    ensure_schedules(enabled=True)
    s = Schedule.objects.get(name="denials.run_nightly")
    assert s.func == "denials.tasks.run_nightly" and s.schedule_type == Schedule.DAILY
    ensure_schedules(enabled=False)
    assert not Schedule.objects.filter(name="denials.run_nightly").exists()
