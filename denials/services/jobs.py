"""The nightly claim jobs (SPEC 8, issue 13 item 9): a registry of jobs, each run recorded.

`jobs_run_nightly` runs every job of the registry (or one) for a tenant, in order, each in its
own transaction and its own `JobRun` (status, counts, error, duration), so one failing job never
hides the others. A heartbeat log line per cycle carries the counts (ids and numbers only, never
PHI). Everything is off when `JOBS_DISABLED` is set unless the caller forces a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError
from core.models import Tenant
from denials.models import Claim, ClaimAlert, JobRun, RemittanceClaim

log = logging.getLogger("healthbill.jobs")

FILING_WARN_DAYS = (30, 7)  # warnings this many days before the payer's timely-filing limit
STALE_DAYS = 30  # a SUBMITTED claim with no remittance for this many days is stale


@dataclass(frozen=True)
class Job:
    """One nightly job: its name, what it does, and the function doing it."""

    name: str
    label: str
    run: Callable[..., dict]


# --- the jobs --------------------------------------------------------------------------------


def _revalidate_charges(*, tenant: Tenant, today: date, run: JobRun) -> dict:
    # the charges part's service: PENDING and INVALID charges again, after upstream fixes
    from denials.services.charges import charges_validate

    counts = charges_validate(actor=Actor.system_for(tenant), tenant=tenant, today=today)
    return dict(counts or {})


def _build_claims(*, tenant: Tenant, today: date, run: JobRun) -> dict:
    from denials.services.claims import claims_build_all_valid

    claims = claims_build_all_valid(actor=Actor.system_for(tenant), tenant=tenant)
    return {"claims_built": len(claims), "lines": sum(c.lines.count() for c in claims)}


def filing_deadline(service_date: date, limit_days: int) -> date:
    """The last day a claim may be filed: the service date plus the payer's limit."""
    return service_date + timedelta(days=limit_days)


def filing_alert_kind(deadline: date, today: date) -> str | None:
    """Which timely-filing alert a claim deserves today (the most urgent), or None.

    Past the deadline: FILING_PAST; 7 days or fewer left (the deadline day included):
    FILING_7; 30 days or fewer: FILING_30.
    """
    left = (deadline - today).days
    if left < 0:
        return ClaimAlert.Kind.FILING_PAST
    if left <= FILING_WARN_DAYS[1]:
        return ClaimAlert.Kind.FILING_7
    if left <= FILING_WARN_DAYS[0]:
        return ClaimAlert.Kind.FILING_30
    return None


def _raise_alerts(tenant: Tenant, run: JobRun, today: date, wanted: list[tuple]) -> int:
    """Create the (claim_id, kind, deadline) alerts not raised before; how many were new."""
    if not wanted:
        return 0
    # the tenant's alerts of these kinds (ids only): no IN list as long as the claims
    kinds = {k for _, k, _ in wanted}
    existing = set(
        ClaimAlert.objects.filter(tenant=tenant, kind__in=kinds).values_list("claim_id", "kind")
    )
    new = [
        ClaimAlert(
            tenant=tenant,
            claim_id=claim_id,
            kind=kind,
            raised_on=today,
            deadline=deadline,
            job_run=run,
        )
        for claim_id, kind, deadline in wanted
        if (claim_id, kind) not in existing
    ]
    # a concurrent run may have raised the same alert meanwhile: the constraint keeps one
    ClaimAlert.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return len(new)


def _timely_filing(*, tenant: Tenant, today: date, run: JobRun) -> dict:
    """Claims not yet SUBMITTED, against their payer's limit counted from the service date."""
    claims = Claim.objects.filter(tenant=tenant, status=Claim.Status.BUILT).values_list(
        "pk", "service_date", "payer__timely_filing_days"
    )
    counts = {"checked": 0, **dict.fromkeys(_FILING_KINDS, 0)}
    wanted = []
    for claim_id, service_date, limit in claims.iterator(chunk_size=2000):
        counts["checked"] += 1
        deadline = filing_deadline(service_date, limit)
        kind = filing_alert_kind(deadline, today)
        if kind is not None:
            wanted.append((claim_id, kind, deadline))
    created = _created_by_kind(tenant, run, today, wanted)
    counts.update(created)
    return counts


_FILING_KINDS = (
    ClaimAlert.Kind.FILING_30,
    ClaimAlert.Kind.FILING_7,
    ClaimAlert.Kind.FILING_PAST,
)


def _created_by_kind(tenant, run, today, wanted) -> dict:
    out = {}
    for kind in {k for _, k, _ in wanted}:
        out[str(kind)] = _raise_alerts(tenant, run, today, [w for w in wanted if w[1] == kind])
    return out


def _stale_claims(*, tenant: Tenant, today: date, run: JobRun) -> dict:
    """SUBMITTED claims with no remittance for STALE_DAYS days (since submission or the last)."""
    since = today - timedelta(days=STALE_DAYS)
    recent = RemittanceClaim.objects.filter(
        claim=OuterRef("pk"), created_at__date__gt=since
    ).values("pk")
    stale = (
        Claim.objects.filter(
            tenant=tenant, status=Claim.Status.SUBMITTED, submitted_at__date__lte=since
        )
        .annotate(recent=Exists(recent))
        .filter(recent=False)
        .values_list("pk", flat=True)
    )
    checked = Claim.objects.filter(tenant=tenant, status=Claim.Status.SUBMITTED).count()
    wanted = [(pk, ClaimAlert.Kind.STALE, None) for pk in stale.iterator(chunk_size=2000)]
    return {
        "checked": checked,
        "stale": len(wanted),
        "flagged": _raise_alerts(tenant, run, today, wanted),
    }


def _refresh_reporting(*, tenant: Tenant, today: date, run: JobRun) -> dict:
    from denials.services.reporting import reporting_views_refresh

    return reporting_views_refresh()


JOBS: dict[str, Job] = {
    j.name: j
    for j in (
        Job("revalidate_charges", "Re-validate pending and invalid charges", _revalidate_charges),
        Job("build_claims", "Build claims from valid charges", _build_claims),
        Job("timely_filing", "Timely-filing warnings and alerts", _timely_filing),
        Job("stale_claims", "Stale submitted claims", _stale_claims),
        Job("refresh_reporting_views", "Refresh the reporting views", _refresh_reporting),
    )
}


def register_job(job: Job) -> None:
    """Add a job to the nightly registry (it runs after those registered before it)."""
    JOBS[job.name] = job


# --- running ---------------------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    # DomainError messages are written for people and carry no PHI; anything else may quote a
    # row (a database error): keep its type only, the traceback goes to the (scrubbed) log.
    if isinstance(exc, DomainError):
        return f"{exc.message}"[:2000]
    return f"{type(exc).__name__} (details in the log)"


def _run_one(tenant: Tenant, job: Job, today: date) -> JobRun:
    run = JobRun.objects.create(tenant=tenant, job=job.name, as_of=today)
    try:
        with transaction.atomic():
            counts = job.run(tenant=tenant, today=today, run=run)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the next job still runs
        log.exception(
            "jobRunner job failed",
            extra={"event": "job_failed", "tenant": tenant.slug, "job": job.name},
        )
        run.status, run.error, run.counts = JobRun.Status.FAILED, _error_text(exc), {}
    else:
        run.status, run.counts = JobRun.Status.SUCCEEDED, _plain(counts)
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "counts", "finished_at"])
    return run


def _plain(counts: dict) -> dict:
    return {str(k): (v if isinstance(v, int | float) else str(v)) for k, v in counts.items()}


def jobs_enabled() -> bool:
    """Whether the nightly jobs may run (JOBS_DISABLED unset)."""
    return not getattr(settings, "JOBS_DISABLED", False)


def jobs_run_nightly(
    *,
    tenant: Tenant,
    job: str | None = None,
    today: date | None = None,
    actor: Actor | None = None,
    force: bool = False,
) -> list[JobRun]:
    """Run the nightly jobs (or one, by name) for a tenant as of `today`; one JobRun each.

    `actor` (a person asking from a screen or the API) needs claims.write and is audited; the
    scheduler and commands run as the system. With JOBS_DISABLED nothing runs unless `force`.
    """
    if actor is not None:
        actor.require(S.CLAIMS_WRITE)
    if job is not None and job not in JOBS:
        raise DomainError(
            f"job: unknown job '{job[:40]}'; one of {', '.join(JOBS)}.",
            details={"field": "job", "jobs": list(JOBS)},
        )
    if not jobs_enabled() and not force:
        if actor is not None:
            raise Conflict("The nightly jobs are disabled (JOBS_DISABLED).", code="jobs_disabled")
        log.info("jobRunner disabled", extra={"event": "jobs_disabled", "tenant": tenant.slug})
        return []
    today = today or timezone.localdate()
    if actor is not None and not actor.system:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="JOBS_RUN",
            object_type="denials.JobRun",
            payload={"job": job or "all", "as_of": today.isoformat()},
        )
    selected = [JOBS[job]] if job else list(JOBS.values())
    runs = [_run_one(tenant, j, today) for j in selected]
    _heartbeat(tenant, today, runs)
    return runs


def jobs_run_nightly_all(*, today: date | None = None) -> dict:
    """The scheduled cycle: every tenant's jobs, as the system; {slug: {job: status}}."""
    if not jobs_enabled():
        return {}
    out = {}
    for tenant in Tenant.objects.order_by("slug"):
        runs = jobs_run_nightly(tenant=tenant, today=today)
        out[tenant.slug] = {r.job: r.status for r in runs}
    return out


def _heartbeat(tenant: Tenant, today: date, runs: list[JobRun]) -> None:
    failed = [r.job for r in runs if r.status == JobRun.Status.FAILED]
    log.info(
        "jobRunner heartbeat",
        extra={
            "event": "jobs_heartbeat",
            "tenant": tenant.slug,
            "as_of": today.isoformat(),
            "jobs": len(runs),
            "failed": len(failed),
            "failed_jobs": ",".join(failed),
            "counts": {r.job: r.counts for r in runs},
            "seconds": round(sum(r.duration_seconds or 0 for r in runs), 3),
        },
    )


# --- reads for the job health screen and the API ---------------------------------------------


def open_alerts(tenant: Tenant):
    """Alerts whose claim is still where the alert applies (filing: BUILT; stale: SUBMITTED)."""
    return (
        ClaimAlert.objects.filter(tenant=tenant)
        .filter(
            Q(kind__in=_FILING_KINDS, claim__status=Claim.Status.BUILT)
            | Q(kind=ClaimAlert.Kind.STALE, claim__status=Claim.Status.SUBMITTED)
        )
        .select_related("claim", "claim__payer")
    )


def last_runs(tenant: Tenant) -> list[JobRun]:
    """The most recent run of each registered job (jobs never run are left out)."""
    latest = (
        JobRun.objects.filter(tenant=tenant)
        .values("job")
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    runs = {r.job: r for r in JobRun.objects.filter(pk__in=list(latest))}
    return [runs[name] for name in JOBS if name in runs] + [
        r for name, r in runs.items() if name not in JOBS
    ]


__all__ = [
    "JOBS",
    "Job",
    "filing_alert_kind",
    "filing_deadline",
    "jobs_enabled",
    "jobs_run_nightly",
    "last_runs",
    "open_alerts",
    "register_job",
]
