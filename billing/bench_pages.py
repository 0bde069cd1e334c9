"""`manage.py bench pages`: server time of a run's screens and decision lists, at any page.

`--run ID` measures an existing run. `--fill N --other M` first writes a synthetic completed run
of N decisions (no engine: COPY, counters and id bounds set as finalize sets them, page marks
computed as on completion) and M decisions of other runs in the same table, the first of them
written interleaved with the measured run in blocks of 5,000 (as two workers write), the rest
before it. Times are the Django test client's (no network): median and p95 over `--repeat`.
The floor is the bare keyset query of the deep page's 50 rows on the same connection; the ratios
compare the deep page with page 1 of the same list (an OFFSET scan grows with the page number).
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from billing.services.chunks import DECISION_FIELDS
from core.actors import Actor
from core.bench import Bench, Timer, peak_rss_mb, register_bench

DEEP_PAGE = 10_000
MONTH = date(2026, 10, 1)
BLOCK = 5_000  # decisions per interleaved block (a chunk)
MEMBERS = 500_000  # members per payer (a run of 1,000,000 covers 2 payers, as runs do)

PARAMS = {
    "requires_service_delivery": True,
    "qualifying_service_codes": ["99213"],
    "retro_window_months": 3,
    "proration": "DAILY",
    "min_billable_days": 1,
    "file_precedence": ["MANUAL", "AMENDED_FILE", "FULL_FILE", "CHANGE_FILE"],
    "benefit_combinations": [],
    "pricing_tiers": [{"benefit": "MED", "min_age": 0, "max_age": 120, "rate": "412.50"}],
}

# 20 decisions in a row: 70 % billed active, the rest spread over five other classes
CLASSES = (
    ["BILLED_ACTIVE"] * 14
    + ["NOT_BILLED_NO_SERVICE"] * 2
    + ["BILLED_PARTIAL_TERM", "NOT_BILLED_PENDING", "BILLED_RETROACTIVE", "NOT_BILLED_TERMINATED"]
)
BILLED = {"BILLED_ACTIVE", "BILLED_PARTIAL_TERM", "BILLED_RETROACTIVE"}


def _args(parser) -> None:
    parser.add_argument("--run", type=int, help="measure this run (else --fill one)")
    parser.add_argument("--fill", type=int, default=0, help="decisions of a synthetic run")
    parser.add_argument("--other", type=int, default=0, help="decisions of other runs")
    parser.add_argument("--inputs-bytes", type=int, default=300, help="size of each row's inputs")
    parser.add_argument("--repeat", type=int, default=20)


def _decision_rows(tenant_id, run_id, month, payers, members, rule_version_id, n, inputs):
    """n synthetic decision rows of one run (tuples in COLUMNS order)."""
    per = len(members)
    for i in range(n):
        cls = CLASSES[i % len(CLASSES)]
        billed = cls in BILLED
        yield (
            tenant_id,
            run_id,
            payers[i // per],
            members[i % per],
            month,
            cls,
            billed,
            31 if billed else 0,
            Decimal("412.50") if billed else Decimal("0.00"),
            rule_version_id,
            "MED 0-120" if billed else "",
            inputs,
        )


COLUMNS = DECISION_FIELDS  # a decision row as a run writes it


def _interleave(first, second, block: int):
    """Rows of two generators in alternate blocks (two workers writing chunks side by side)."""
    while True:
        done = 0
        for source in (first, second):
            taken = 0
            for row in source:
                yield row
                taken += 1
                if taken == block:
                    break
            done += taken == 0
        if done == 2:
            return


def _fill(decisions: int, other: int, inputs_bytes: int) -> tuple[int, dict]:
    """A completed synthetic run of `decisions` among `other` decisions of other runs."""
    from billing.models import BillingRun, Decision, Member, Payer, RunPayer
    from billing.pages import decision_page_marks_write
    from billing.selectors import run_summary
    from billing.services.rules import rule_version_activate, rule_version_create
    from core.bulk import insert_rows
    from core.services import tenant_create

    tenant = tenant_create(slug=f"bench-pages-{int(time.time())}", name="bench")
    system = Actor.system_for(tenant)
    per = min(MEMBERS, max(decisions, other, 1))
    n_payers = max(-(-decisions // per), 1)
    with Timer() as setup:
        with transaction.atomic():
            insert_rows(
                Member,
                ("tenant", "external_id", "first_name", "last_name", "birth_date"),
                ((tenant.pk, f"P{n:08d}", "Pat", "Bench", date(1970, 1, 1)) for n in range(per)),
            )
        members = list(
            Member.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True)
        )
        payers, rule_versions = [], []
        for k in range(n_payers):
            payer = Payer.objects.create(tenant=tenant, code=f"PG{k:03d}", name=f"Bench {k}")
            rv = rule_version_create(
                actor=system, payer=payer, version="1", effective_from=MONTH, params=PARAMS
            )
            rule_versions.append(rule_version_activate(actor=system, rule_version_id=rv.pk))
            payers.append(payer.pk)
    sizes = [decisions]
    left = other
    while left > 0:
        sizes.append(min(left, max(decisions, 1)))
        left -= sizes[-1]
    runs = []
    for k, _ in enumerate(sizes):
        run = BillingRun.objects.create(
            tenant=tenant,
            month=date(2026, 10 - min(k, 9), 1),
            mode=BillingRun.Mode.PRODUCTION,
            reason="bench pages",
        )
        RunPayer.objects.bulk_create(
            RunPayer(
                tenant=tenant,
                run=run,
                payer_id=p,
                month=run.month,
                mode=run.mode,
                active=False,
                rule_version=rule_versions[i],
            )
            for i, p in enumerate(payers)
        )
        runs.append(run)
    inputs = {"pad": "x" * max(inputs_bytes - 12, 0)}

    def rows(k: int):
        n_payers_k = -(-sizes[k] // per)
        return _decision_rows(
            tenant.pk,
            runs[k].pk,
            runs[k].month,
            payers[:n_payers_k],
            members,
            rule_versions[0].pk,
            sizes[k],
            inputs,
        )

    with Timer() as write:
        for k in range(2, len(sizes)):  # older runs first
            with transaction.atomic():
                insert_rows(Decision, COLUMNS, rows(k))
        with transaction.atomic():
            if len(sizes) > 1:
                block = min(BLOCK, max(decisions // 10, 1))  # small runs interleave too
                insert_rows(Decision, COLUMNS, _interleave(rows(0), rows(1), block))
            else:
                insert_rows(Decision, COLUMNS, rows(0))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE billing_decision")
    with Timer() as finish:  # what finalize does for the measured run (and the other runs)
        for k, run in enumerate(runs):
            bounds = Decision.objects.filter(run=run).values_list("id", flat=True)
            BillingRun.objects.filter(pk=run.pk).update(
                status=BillingRun.Status.COMPLETED,  # bench data: no transition, no audit entry
                summary=run_summary(run),
                decisions_count=sizes[k],
                first_decision_id=bounds.order_by("id").first(),
                last_decision_id=bounds.order_by("-id").first(),
            )
    run = BillingRun.objects.get(pk=runs[0].pk)
    with Timer() as marks:
        decision_page_marks_write(run)
    return run.pk, {
        "fill_setup_seconds": setup.seconds,
        "fill_write_seconds": write.seconds,
        "fill_finish_seconds": finish.seconds,
        "marks_seconds": marks.seconds,
        "other_runs": len(sizes) - 1,
    }


def _time(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
    }


def _client(run):
    from django.test import Client

    from core import scopes as S
    from core.models import TenantMembership
    from core.services import membership_add, user_ensure

    user = user_ensure(username="bench-viewer")
    if not TenantMembership.objects.filter(user=user, tenant=run.tenant).exists():
        membership_add(actor=Actor.system_for(run.tenant), user=user, role=S.Role.VIEWER)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session["tenant_id"] = run.tenant_id  # the screens work in the session's tenant
    session.save()
    return client


def _run(
    *,
    run: int | None = None,
    fill: int = 0,
    other: int = 0,
    inputs_bytes: int = 300,
    repeat=20,
    **_,
) -> dict:
    """Server time of the run screens and of decision pages near the start and deep in."""
    from django.core.paginator import Paginator

    from billing.models import BillingRun, Decision, DecisionPageMark
    from billing.pages import PAGE_SIZE, decision_page_marks_write

    figures: dict = {}
    if run is None:
        run, figures = _fill(fill, other, inputs_bytes)
    obj = BillingRun.objects.select_related("tenant").get(pk=run)
    if not DecisionPageMark.objects.filter(run=obj).exists():
        with Timer() as marks:
            decision_page_marks_write(obj)
        figures["marks_seconds"] = marks.seconds
    pages = max(-(-obj.decisions_count // PAGE_SIZE), 1)
    deep = min(DEEP_PAGE, pages)
    by_class = "BILLED_ACTIVE"
    in_class = (obj.summary.get("by_class") or {}).get(by_class, {}).get("count", 0)
    class_pages = max(-(-in_class // PAGE_SIZE), 1)
    class_deep = min(DEEP_PAGE, class_pages)
    deep_id = DecisionPageMark.objects.get(run=obj, decision_class="", page=deep).first_id
    class_deep_id = DecisionPageMark.objects.get(
        run=obj, decision_class=by_class, page=class_deep
    ).first_id
    client = _client(obj)
    base = f"/billing/runs/{run}/"
    api = f"/api/billing/runs/{run}/decisions"
    urls = {
        "summary": base,
        "decisions": f"{base}?tab=decisions",
        "decisions_by_class": f"{base}?tab=decisions&decision_class={by_class}",
        "decisions_deep_page": f"{base}?tab=decisions&page={deep}",
        "decisions_last_page": f"{base}?tab=decisions&page={pages}",
        "decisions_by_class_deep_page": (
            f"{base}?tab=decisions&decision_class={by_class}&page={class_deep}"
        ),
        "api_decisions": f"{api}?decision_class={by_class}",
        "api_decisions_deep_cursor": f"{api}?cursor=p{deep_id}",
        "api_decisions_by_class_deep_cursor": (
            f"{api}?decision_class={by_class}&cursor=p{class_deep_id}"
        ),
    }
    out = {}
    for name, url in urls.items():
        response = client.get(url, HTTP_X_TENANT=obj.tenant.slug)  # warm, and check
        assert response.status_code == 200, (url, response.status_code)

        def get(url=url):
            return client.get(url, HTTP_X_TENANT=obj.tenant.slug)

        out[name] = _time(get, repeat)

    # the floor: the deep page's rows by the primary key, bare SQL on the same connection
    keyset = "SELECT * FROM billing_decision WHERE run_id = %s AND id >= %s ORDER BY id LIMIT %s"

    def floor():
        with connection.cursor() as cursor:
            cursor.execute(keyset, [run, deep_id, PAGE_SIZE])
            cursor.fetchall()

    out["floor_deep_rows"] = _time(floor, repeat)
    # what the deep page cost before (Django's OFFSET page, the query alone)
    offset = Paginator(
        Decision.objects.filter(
            run=obj, pk__gte=obj.first_decision_id, pk__lte=obj.last_decision_id
        )
        .defer("inputs")
        .order_by("id"),
        PAGE_SIZE,
    )
    offset.count = obj.decisions_count
    out["offset_deep_rows"] = _time(
        lambda: list(offset.page(deep).object_list), max(repeat // 4, 3)
    )
    # ratios that a busy machine does not fake: the deep page against page 1 of the same list
    # (an OFFSET scan makes it grow with the page number), and against the bare keyset query
    screen = out["decisions_deep_page"]["median_ms"]
    first = out["decisions"]["median_ms"]
    api_deep = out["api_decisions_deep_cursor"]["median_ms"]
    api_first = out["api_decisions"]["median_ms"]
    return {
        "bench": "pages",
        "database": connection.vendor,
        "run": run,
        "decision_rows": obj.decisions_count,
        "table_rows": Decision.objects.count() if fill else None,
        "deep_page": deep,
        **out,
        "seconds": round(screen / 1000, 4),
        "floor_seconds": round(out["floor_deep_rows"]["median_ms"] / 1000, 4),
        "ratio": round(screen / max(out["floor_deep_rows"]["median_ms"], 0.01), 1),
        "deep_vs_first_ratio": round(screen / max(first, 0.01), 2),
        "api_deep_vs_first_ratio": round(api_deep / max(api_first, 0.01), 2),
        "offset_vs_keyset_ratio": round(
            out["offset_deep_rows"]["median_ms"] / max(out["floor_deep_rows"]["median_ms"], 0.01), 1
        ),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **figures,
    }


def register() -> None:
    """Offer `bench pages`."""
    register_bench(
        Bench(
            "pages",
            "server time of a run's screens and decision pages (deep pages by marks and cursor)",
            _args,
            _run,
        )
    )
