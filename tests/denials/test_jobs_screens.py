"""The job health and reconciliation screens: what staff see."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from core import scopes as S
from denials.models import ClaimAlert, JobRun, PaymentApplication
from denials.services.jobs import jobs_run_nightly
from denials.services.reporting import reporting_views_refresh
from tests.denials.jobs_builders import apply, claim, payer

K = PaymentApplication.Kind


def test_job_health_shows_last_runs_failures_and_open_alerts(world):
    # given a stale claim flagged by a run, and a failed run of another job
    today = timezone.localdate()
    p = payer(world.tenant, "ACME")
    c = claim(
        world.tenant,
        payer_obj=p,
        service_date=today - timedelta(days=90),
        submitted_on=today - timedelta(days=45),
    )
    jobs_run_nightly(tenant=world.tenant, job="stale_claims", today=today)
    JobRun.objects.create(
        tenant=world.tenant,
        job="build_claims",
        status=JobRun.Status.FAILED,
        error="Charges C1 are not valid.",
        finished_at=timezone.now(),
        as_of=today,
    )

    # when a viewer opens the job health screen
    r = world.client(S.Role.VIEWER).get("/claims/jobs/")

    # then the last run of each job, the failure with its error and the open alert are shown
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-job="stale_claims"' in html and 'data-status="SUCCEEDED"' in html
    assert "Charges C1 are not valid." in html
    assert '<span class="count" id="count-failed">1</span>' in html
    assert '<span class="count" id="count-alerts">1</span>' in html
    assert c.number in html and "Stale: no remittance in 30 days" in html
    # and a viewer is not offered to run jobs
    assert 'id="run-jobs"' not in html
    assert 'id="run-jobs"' in world.client(S.Role.OPERATIONS).get("/claims/jobs/").content.decode()


def test_run_now_from_the_screen(world):
    # given a BUILT claim past its limit
    p = payer(world.tenant, "ACME", days=10)
    c = claim(world.tenant, payer_obj=p, service_date=date(2026, 6, 1))

    # when operations runs the timely-filing job for 2026-06-30 from the screen
    client = world.client(S.Role.OPERATIONS)
    r = client.post("/claims/jobs/run/", {"job": "timely_filing", "today": "2026-06-30"})

    # then it is back on job health with a message, and the claim has its alert
    assert r.status_code == 302 and r.headers["Location"] == "/claims/jobs/"
    assert ClaimAlert.objects.get(claim=c).kind == ClaimAlert.Kind.FILING_PAST
    page = client.get("/claims/jobs/").content.decode()
    assert "Ran 1 job; all succeeded." in page


def test_run_now_refuses_a_bad_day_with_a_message(world):
    client = world.client(S.Role.OPERATIONS)
    r = client.post("/claims/jobs/run/", {"today": "30/06/2026"}, follow=True)
    assert r.status_code == 200
    assert "Day: expected YYYY-MM-DD" in r.content.decode()
    assert not JobRun.objects.exists()


def test_job_health_says_when_jobs_are_disabled(world, settings):
    settings.JOBS_DISABLED = True
    html = world.client(S.Role.OWNER).get("/claims/jobs/").content.decode()
    assert 'id="jobs-disabled"' in html and 'id="run-jobs"' not in html


def test_reconciliation_screen_shows_rows_totals_chart_and_aging(world):
    # given a claim of 300.00: 200.00 paid, 20.00 patient responsibility, refreshed
    p = payer(world.tenant, "ACME")
    c = claim(
        world.tenant,
        payer_obj=p,
        service_date=date(2026, 5, 4),
        billed="300.00",
        submitted_on=date(2026, 5, 10),
    )
    apply(c, K.PAYMENT, "200.00")
    apply(c, K.PATIENT_RESPONSIBILITY, "20.00")
    reporting_views_refresh()

    # when a viewer opens the dashboard, aging as of 2026-06-30
    r = world.client(S.Role.VIEWER).get("/claims/reconciliation/?as_of=2026-06-30")

    # then the row, its chart column and the aging bucket show the money
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-payer="ACME" data-month="2026-05"' in html
    assert "$300.00" in html and "$200.00" in html and "$80.00" in html
    assert 'data-month="May 26"' in html and 'data-segment="paid"' in html
    assert 'data-segment="open"' in html
    assert '<td data-bucket="31-60">$80.00' in html


def test_reconciliation_screen_names_a_bad_filter_instead_of_failing(world):
    r = world.client(S.Role.VIEWER).get("/claims/reconciliation/?month_from=2026-13&as_of=x")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count('class="error"') == 2


def test_reconciliation_exports_what_it_shows_as_csv(world):
    # given two payers' claims, refreshed
    for code, billed in (("ACME", "300.00"), ("ZEN", "10.00")):
        p = payer(world.tenant, code)
        claim(world.tenant, payer_obj=p, service_date=date(2026, 5, 4), billed=billed)
    reporting_views_refresh()

    # when the ACME-filtered reconciliation is exported
    r = world.client(S.Role.VIEWER).get("/claims/reconciliation.csv?payer=ACME")

    # then the file holds ACME's row only, with its figures
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == 'attachment; filename="claim-reconciliation.csv"'
    text = b"".join(r.streaming_content).decode()
    assert text.splitlines() == [
        "payer,month,claims,billed,paid,adjusted,patient_responsibility,written_off,open",
        "ACME,2026-05,1,300.00,0.00,0.00,0.00,0.00,300.00",
    ]


def test_dashboard_panel_counts_failed_runs_and_open_alerts(world, monkeypatch):
    from core import scopes
    from tests.core.test_dashboard import _counter

    # (the charges part offers claims.view from DenialsConfig.ready(); offered here on its own)
    monkeypatch.setitem(scopes._OFFERED, "denials-jobs-test", (S.CLAIMS_VIEW,))
    # given a failed run and a stale claim flagged by the nightly job
    today = timezone.localdate()
    p = payer(world.tenant, "ACME")
    claim(
        world.tenant,
        payer_obj=p,
        service_date=today - timedelta(days=90),
        submitted_on=today - timedelta(days=40),
    )
    jobs_run_nightly(tenant=world.tenant, job="stale_claims", today=today)
    JobRun.objects.create(tenant=world.tenant, job="build_claims", status=JobRun.Status.FAILED)

    # when a viewer opens the dashboard, then the claim jobs panel counts them
    html = world.client(S.Role.VIEWER).get("/").content.decode()
    assert _counter(html, "Claim jobs", "failed job runs (7 days)") == 1
    assert _counter(html, "Claim jobs", "stale submitted claims") == 1
    assert _counter(html, "Claim jobs", "claims past timely filing") == 0
    assert 'href="/claims/jobs/"' in html
