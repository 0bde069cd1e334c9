"""Nightly claim jobs with a fixed clock: timely-filing boundaries, stale claims, run records."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from core.exceptions import Conflict, DomainError, ScopeDenied
from core.models import AuditEntry
from denials.models import Claim, ClaimAlert, JobRun
from denials.services import jobs as jobs_service
from denials.services.jobs import Job, filing_alert_kind, jobs_run_nightly, open_alerts
from tests.denials.jobs_builders import claim, payer
from tests.logcapture import console_output

TODAY = date(2026, 6, 30)
K = ClaimAlert.Kind


def _alerts(c: Claim) -> set[str]:
    return set(ClaimAlert.objects.filter(claim=c).values_list("kind", flat=True))


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (31, None),
        (30, K.FILING_30),
        (8, K.FILING_30),
        (7, K.FILING_7),
        (0, K.FILING_7),
        (-1, K.FILING_PAST),
    ],
)
def test_filing_alert_kind_boundaries(days_left, expected):
    # given a deadline `days_left` days after today, then the alert it deserves
    assert filing_alert_kind(TODAY + timedelta(days=days_left), TODAY) == expected


def test_timely_filing_warns_at_30_and_7_days_and_alerts_when_past(world):
    # given a payer with a 90-day limit and BUILT claims whose deadline is 31, 30, 7 and -1 days
    # away (deadline = service date + 90 days)
    p = payer(world.tenant, days=90)

    def built(days_left: int) -> Claim:
        return claim(world.tenant, payer_obj=p, service_date=TODAY + timedelta(days_left - 90))

    c31, c30, c7, past = built(31), built(30), built(7), built(-1)
    # and a claim already SUBMITTED, past its limit too: filed in time, nothing to warn about
    sent = claim(world.tenant, payer_obj=p, service_date=TODAY - timedelta(100), submitted_on=TODAY)

    # when the timely-filing job runs today
    (run,) = jobs_run_nightly(tenant=world.tenant, job="timely_filing", today=TODAY)

    # then each claim got the alert of its boundary, and the submitted one none
    assert run.status == JobRun.Status.SUCCEEDED
    assert _alerts(c31) == set()
    assert _alerts(c30) == {K.FILING_30}
    assert _alerts(c7) == {K.FILING_7}
    assert _alerts(past) == {K.FILING_PAST}
    assert _alerts(sent) == set()
    assert run.counts == {"checked": 4, "FILING_30": 1, "FILING_7": 1, "FILING_PAST": 1}
    alert = ClaimAlert.objects.get(claim=past)
    assert alert.deadline == TODAY - timedelta(days=1)
    assert alert.raised_on == TODAY and alert.job_run == run


def test_timely_filing_raises_each_alert_once_per_claim_and_kind(world):
    # given a claim 30 days from its limit, warned once
    p = payer(world.tenant, days=365)
    c = claim(world.tenant, payer_obj=p, service_date=TODAY - timedelta(days=335))
    jobs_run_nightly(tenant=world.tenant, job="timely_filing", today=TODAY)

    # when the job runs again the next day (29 days left) and 23 days later (7 days left)
    (again,) = jobs_run_nightly(
        tenant=world.tenant, job="timely_filing", today=TODAY + timedelta(1)
    )
    (later,) = jobs_run_nightly(
        tenant=world.tenant, job="timely_filing", today=TODAY + timedelta(23)
    )

    # then the 30-day warning stays a single row, and the 7-day one is added once
    assert again.counts["checked"] == 1 and again.counts.get("FILING_30") == 0
    assert later.counts.get("FILING_7") == 1
    assert ClaimAlert.objects.filter(claim=c).count() == 2
    assert _alerts(c) == {K.FILING_30, K.FILING_7}


def test_timely_filing_uses_each_payers_own_limit(world):
    # given the same service date, 40 days ago, with payers allowing 60 and 45 days
    sixty, forty_five = payer(world.tenant, "SIXTY", days=60), payer(world.tenant, "FF", days=45)
    a = claim(world.tenant, payer_obj=sixty, service_date=TODAY - timedelta(days=40))
    b = claim(world.tenant, payer_obj=forty_five, service_date=TODAY - timedelta(days=40))

    # when the job runs
    jobs_run_nightly(tenant=world.tenant, job="timely_filing", today=TODAY)

    # then 20 days left is a 30-day warning, 5 days left a 7-day one
    assert _alerts(a) == {K.FILING_30}
    assert _alerts(b) == {K.FILING_7}


def test_stale_claims_flags_submitted_claims_with_no_remittance_in_30_days(world):
    # given claims submitted 30 and 29 days ago, none answered, and one paid 60 days ago
    p = payer(world.tenant)
    day = TODAY - timedelta(days=90)
    old = claim(world.tenant, payer_obj=p, service_date=day, submitted_on=TODAY - timedelta(30))
    recent = claim(world.tenant, payer_obj=p, service_date=day, submitted_on=TODAY - timedelta(29))
    paid = claim(
        world.tenant,
        payer_obj=p,
        service_date=day,
        submitted_on=TODAY - timedelta(60),
        status=Claim.Status.PAID,
    )

    # when the stale-claims job runs today, and again tomorrow
    (run,) = jobs_run_nightly(tenant=world.tenant, job="stale_claims", today=TODAY)
    (tomorrow,) = jobs_run_nightly(
        tenant=world.tenant, job="stale_claims", today=TODAY + timedelta(1)
    )

    # then 30 days without an answer is stale, 29 is not (until tomorrow), a paid claim never
    assert run.counts == {"checked": 2, "stale": 1, "flagged": 1}
    assert _alerts(old) == {K.STALE}
    assert _alerts(paid) == set()
    assert tomorrow.counts == {"checked": 2, "stale": 2, "flagged": 1}
    assert _alerts(recent) == {K.STALE}
    assert ClaimAlert.objects.filter(claim=old).count() == 1


def test_open_alerts_leave_out_claims_that_moved_on(world):
    # given a stale claim, then paid
    p = payer(world.tenant)
    c = claim(
        world.tenant,
        payer_obj=p,
        service_date=TODAY - timedelta(90),
        submitted_on=TODAY - timedelta(45),
    )
    jobs_run_nightly(tenant=world.tenant, job="stale_claims", today=TODAY)
    assert [a.claim_id for a in open_alerts(world.tenant)] == [c.pk]

    # when the claim is paid, then its stale alert is no longer open
    c.settle(status=Claim.Status.PAID)
    c.save()
    assert list(open_alerts(world.tenant)) == []


def test_a_failing_job_is_recorded_and_the_next_still_runs(world, monkeypatch):
    # given a registry whose first job fails with a database-like error quoting a member id
    member_id = "MEMBER-" + str(123)

    def broken(**_):
        raise ValueError(f'duplicate key value "{member_id}"')

    monkeypatch.setattr(
        jobs_service,
        "JOBS",
        {
            "broken": Job("broken", "Always fails", broken),
            "stale_claims": jobs_service.JOBS["stale_claims"],
        },
    )

    # when the nightly cycle runs
    with console_output() as out:
        runs = jobs_run_nightly(tenant=world.tenant, today=TODAY)

    # then the failure is recorded without the quoted value, and the next job still succeeded
    assert [(r.job, r.status) for r in runs] == [
        ("broken", JobRun.Status.FAILED),
        ("stale_claims", JobRun.Status.SUCCEEDED),
    ]
    failed = JobRun.objects.get(job="broken")
    assert failed.error == "ValueError (details in the log)"
    assert failed.finished_at is not None and failed.duration_seconds >= 0
    assert "MEMBER-123" not in out.getvalue()
    # and the cycle's heartbeat line carries its counts
    beats = [json.loads(line) for line in out.getvalue().splitlines() if "heartbeat" in line]
    assert len(beats) == 1
    assert beats[0]["event"] == "jobs_heartbeat" and beats[0]["msg"] == "jobRunner heartbeat"
    assert beats[0]["jobs"] == 2 and beats[0]["failed"] == 1 and beats[0]["failed_jobs"] == "broken"
    assert beats[0]["counts"]["stale_claims"] == {"checked": 0, "stale": 0, "flagged": 0}


def test_a_domain_refusal_is_recorded_with_its_message(world, monkeypatch):
    # given a job refusing with a message written for people
    def refuse(**_):
        raise DomainError("Charges C1 and C2 are not valid.")

    monkeypatch.setitem(jobs_service.JOBS, "build_claims", Job("build_claims", "x", refuse))

    # when it runs, then its run names the refusal
    (run,) = jobs_run_nightly(tenant=world.tenant, job="build_claims", today=TODAY)
    assert run.status == JobRun.Status.FAILED
    assert run.error == "Charges C1 and C2 are not valid."


def test_every_job_runs_in_order_with_one_run_each(world, monkeypatch):
    # given the charges part's services stubbed (they are built in parallel)
    monkeypatch.setitem(
        jobs_service.JOBS,
        "revalidate_charges",
        Job("revalidate_charges", "x", lambda **_: {"valid": 2}),
    )
    monkeypatch.setitem(
        jobs_service.JOBS, "build_claims", Job("build_claims", "x", lambda **_: {"claims_built": 1})
    )

    # when the whole cycle runs
    runs = jobs_run_nightly(tenant=world.tenant, today=TODAY)

    # then every job of the registry ran once, in order, and succeeded for that day
    assert [r.job for r in runs] == [
        "revalidate_charges",
        "build_claims",
        "timely_filing",
        "stale_claims",
        "refresh_reporting_views",
    ]
    assert {r.status for r in runs} == {JobRun.Status.SUCCEEDED}
    assert {r.as_of for r in runs} == {TODAY}
    assert runs[0].counts == {"valid": 2}
    assert JobRun.objects.filter(tenant=world.tenant).count() == 5


def test_nothing_runs_when_jobs_are_disabled(world, settings):
    # given JOBS_DISABLED
    settings.JOBS_DISABLED = True

    # when the scheduler runs the cycle, then nothing runs and nothing is recorded
    assert jobs_run_nightly(tenant=world.tenant, today=TODAY) == []
    assert not JobRun.objects.exists()
    # and a person asking is told why
    with pytest.raises(Conflict, match="disabled"):
        jobs_run_nightly(tenant=world.tenant, today=TODAY, actor=world.actor("OWNER"))
    # while an operator may force a run
    assert len(jobs_run_nightly(tenant=world.tenant, job="stale_claims", force=True)) == 1


def test_a_person_needs_claims_write_and_is_audited(world):
    # given a viewer and an operations user
    with pytest.raises(ScopeDenied):
        jobs_run_nightly(tenant=world.tenant, job="stale_claims", actor=world.actor("VIEWER"))

    # when operations runs one job
    jobs_run_nightly(
        tenant=world.tenant, job="stale_claims", today=TODAY, actor=world.actor("OPERATIONS")
    )

    # then the run is in the audit trail
    entry = AuditEntry.objects.get(tenant=world.tenant, action="JOBS_RUN")
    assert entry.payload == {"job": "stale_claims", "as_of": "2026-06-30"}


def test_an_unknown_job_is_refused_naming_the_field(world):
    with pytest.raises(DomainError) as err:
        jobs_run_nightly(tenant=world.tenant, job="nope")
    assert err.value.details["field"] == "job"
    assert not JobRun.objects.exists()


def test_jobs_stay_in_their_tenant(world):
    # given a stale claim in tenant B
    p = payer(world.other_tenant)
    c = claim(
        world.other_tenant,
        payer_obj=p,
        service_date=TODAY - timedelta(90),
        submitted_on=TODAY - timedelta(40),
    )

    # when tenant A's jobs run, then B's claim is untouched
    (run,) = jobs_run_nightly(tenant=world.tenant, job="stale_claims", today=TODAY)
    assert run.counts["checked"] == 0
    assert _alerts(c) == set()
