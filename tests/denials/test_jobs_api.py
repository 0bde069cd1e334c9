"""The jobs and reports API: what a partner system or a script sees."""

from __future__ import annotations

from datetime import date, timedelta

from core import scopes as S
from core.models import TenantMembership
from core.services import object_access_grant
from denials.models import ClaimAlert, JobRun, PaymentApplication
from denials.services.reporting import reporting_views_refresh
from tests.denials.jobs_builders import apply, claim, payer
from tests.envelope import error_envelope

TODAY = date(2026, 6, 30)
K = PaymentApplication.Kind


def test_run_one_job_then_list_its_run(world):
    # given a BUILT claim past its payer's 30-day limit
    p = payer(world.tenant, days=30)
    c = claim(world.tenant, payer_obj=p, service_date=TODAY - timedelta(days=31))
    client = world.client(S.Role.OPERATIONS)

    # when operations runs the timely-filing job for 2026-06-30
    r = client.post("/api/jobs/run", {"job": "timely_filing", "today": "2026-06-30"}, format="json")

    # then the answer carries the run, the claim its alert, and the runs list shows it
    assert r.status_code == 200, r.content
    (run,) = r.json()["runs"]
    assert run["job"] == "timely_filing" and run["status"] == "SUCCEEDED"
    assert run["as_of"] == "2026-06-30" and run["counts"]["FILING_PAST"] == 1
    assert ClaimAlert.objects.get(claim=c).kind == ClaimAlert.Kind.FILING_PAST
    listed = world.client(S.Role.VIEWER).get("/api/jobs/runs?job=timely_filing").json()
    assert [x["id"] for x in listed["results"]] == [run["id"]]
    assert listed["results"][0]["duration_seconds"] >= 0


def test_run_refuses_bad_input_naming_the_field(world):
    client = world.client(S.Role.OWNER)
    err = error_envelope(client.post("/api/jobs/run", {"job": "nope"}, format="json"), 400)
    assert "job" in err["details"]
    err = error_envelope(client.post("/api/jobs/run", {"today": "2026-13-01"}, format="json"), 400)
    assert "today" in err["details"]
    err = error_envelope(client.post("/api/jobs/run", {"jobs": "x"}, format="json"), 400)
    assert "jobs" in err["details"]
    assert not JobRun.objects.exists()


def test_run_needs_claims_write(world):
    r = world.client(S.Role.VIEWER).post("/api/jobs/run", {}, format="json")
    error_envelope(r, 403)
    assert not JobRun.objects.exists()


def test_run_answers_409_when_jobs_are_disabled(world, settings):
    settings.JOBS_DISABLED = True
    r = world.client(S.Role.OWNER).post("/api/jobs/run", {"job": "stale_claims"}, format="json")
    assert error_envelope(r, 409)["code"] == "jobs_disabled"


def test_runs_list_filters_and_refuses_unknown_values(world):
    client = world.client(S.Role.VIEWER)
    error_envelope(client.get("/api/jobs/runs?status=LOST"), 400)
    error_envelope(client.get("/api/jobs/runs?job=nope"), 400)
    assert client.get("/api/jobs/runs?status=FAILED").json()["results"] == []


def _books(world):
    acme, zen = payer(world.tenant, "ACME"), payer(world.tenant, "ZEN")
    c = claim(
        world.tenant,
        payer_obj=acme,
        service_date=date(2026, 5, 4),
        billed="300.00",
        submitted_on=date(2026, 5, 10),
    )
    apply(c, K.PAYMENT, "200.00")
    apply(c, K.PATIENT_RESPONSIBILITY, "20.00")
    claim(
        world.tenant,
        payer_obj=zen,
        service_date=date(2026, 6, 4),
        billed="50.00",
        submitted_on=date(2026, 6, 10),
    )
    reporting_views_refresh()
    return acme, zen


def test_reconciliation_report(world):
    # given two payers' claims, refreshed into the views
    _books(world)

    # when a viewer reads the reconciliation of May 2026
    r = world.client(S.Role.VIEWER).get(
        "/api/reports/reconciliation?month_from=2026-05&month_to=2026-05"
    )

    # then ACME's May row shows where the 300.00 went, as money strings
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["refreshed_at"] is not None
    assert body["rows"] == [
        {
            "payer": "ACME",
            "payer_name": "ACME Health Plan",
            "month": "2026-05",
            "claims": 1,
            "billed": "300.00",
            "paid": "200.00",
            "adjusted": "0.00",
            "patient_responsibility": "20.00",
            "written_off": "0.00",
            "open": "80.00",
        }
    ]
    assert body["totals"]["open"] == "80.00"


def test_reconciliation_refuses_bad_months(world):
    client = world.client(S.Role.VIEWER)
    err = error_envelope(client.get("/api/reports/reconciliation?month_from=2026-5"), 400)
    assert "month_from" in err["details"]


def test_reconciliation_with_months_reversed_is_an_empty_range(world):
    # given claims in May 2026 / when the range runs backwards / then no rows, not an error
    _books(world)
    client = world.client(S.Role.VIEWER)
    r = client.get("/api/reports/reconciliation?month_from=2026-06&month_to=2026-05")
    assert r.status_code == 200, r.content
    assert r.json()["rows"] == []
    forward = client.get("/api/reports/reconciliation?month_from=2026-05&month_to=2026-06")
    assert forward.json()["rows"] != []


def test_aging_report(world):
    _books(world)
    r = world.client(S.Role.VIEWER).get("/api/reports/aging?as_of=2026-06-30")
    assert r.status_code == 200, r.content
    body = r.json()
    rows = {row["payer"]: row for row in body["rows"]}
    acme = {b["bucket"]: b for b in rows["ACME"]["buckets"]}
    assert acme["31-60"] == {"bucket": "31-60", "amount": "80.00", "claims": 1}
    assert rows["ACME"]["total"] == "80.00"
    zen = {b["bucket"]: b["amount"] for b in rows["ZEN"]["buckets"]}
    assert zen["0-30"] == "50.00"
    totals = {b["bucket"]: b["amount"] for b in body["totals"]}
    assert totals == {
        "0-30": "50.00",
        "31-60": "80.00",
        "61-90": "0.00",
        "91-120": "0.00",
        "over 120": "0.00",
    }
    error_envelope(world.client(S.Role.VIEWER).get("/api/reports/aging?as_of=30/06/2026"), 400)


def test_payer_grants_narrow_the_report_api(world):
    acme, _zen = _books(world)
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=acme)
    client = world.client(S.Role.OPERATIONS)
    assert {r["payer"] for r in client.get("/api/reports/reconciliation").json()["rows"]} == {
        "ACME"
    }
    assert [r["payer"] for r in client.get("/api/reports/aging").json()["rows"]] == ["ACME"]
