"""Decisions tab at any page (issue 16): page N read from the run's page marks shows exactly the
rows, numbers and links the OFFSET page showed, for a run whose ids interleave with another's, a
simulation, a superseded run, and a run completed before page marks existed."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from django.test import Client

from billing.models import BillingRun, Decision, DecisionPageMark
from billing.pages import PAGE_SIZE, decision_page_marks_write
from billing.selectors import run_summary
from billing.services import runs as run_services
from core import scopes as S
from tests.billing import api_builders as b
from tests.billing import screen_builders as sb

ACTIVE, NO_SERVICE, PARTIAL = "BILLED_ACTIVE", "NOT_BILLED_NO_SERVICE", "BILLED_PARTIAL_TERM"


def _payer_with_members(tenant, *, active: int, no_service: int, partial: int):
    p = b.payer_with_rules(tenant)
    for _ in range(active):
        b.member(tenant, p)
    for _ in range(no_service):
        b.member(tenant, p, service_dates=())
    for _ in range(partial):
        b.member(tenant, p, termination_date=date(2026, 10, 15))
    return p


def _client(world) -> Client:
    c = Client()
    c.force_login(world.users[S.Role.VIEWER])
    return c


def _rows(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="decision-(\d+)">', response.content.decode())]


def _pager(response) -> str:
    text = html.unescape(response.content.decode())
    return re.search(r'<nav class="pager">(.*?)</nav>', text, re.S).group(1)


def _offset_pages(run: BillingRun, decision_class: str = "") -> list[list[int]]:
    """The pages Django's Paginator showed before: ids in order, cut every PAGE_SIZE."""
    qs = Decision.objects.filter(run=run).order_by("id")
    if decision_class:
        qs = qs.filter(decision_class=decision_class)
    ids = list(qs.values_list("id", flat=True))
    return [ids[i : i + PAGE_SIZE] for i in range(0, len(ids), PAGE_SIZE)] or [[]]


def _assert_pages_match_offset(c: Client, run: BillingRun, decision_class: str = "") -> None:
    expected = _offset_pages(run, decision_class)
    total = sum(len(p) for p in expected)
    query = f"&decision_class={decision_class}" if decision_class else ""
    url = f"/billing/runs/{run.pk}/?tab=decisions{query}"
    for number, ids in enumerate(expected, start=1):
        response = c.get(f"{url}&page={number}")
        assert response.status_code == 200
        assert _rows(response) == ids, (decision_class, number)
        pager = _pager(response)
        assert f"page {number} of {len(expected)} ({total:,} decisions)" in pager
        assert (f"&page={number + 1}" in pager) == (number < len(expected))
        assert (f"&page={number - 1}" in pager) == (number > 1)
    # past the end and not a number: the last page and the first, as Django's get_page answers
    assert _rows(c.get(f"{url}&page={len(expected) + 5}")) == expected[-1]
    assert _rows(c.get(f"{url}&page=abc")) == expected[0]


def _completed_copy(copy: BillingRun, decisions: list[Decision]) -> BillingRun:
    """The queued run given decisions as finalize leaves it (summary, counters, id bounds),
    but without page marks (a run completed before they existed)."""
    ids = [d.pk for d in decisions if d.run_id == copy.pk]
    BillingRun.objects.filter(pk=copy.pk).update(
        summary=run_summary(copy),
        decisions_count=len(ids),
        first_decision_id=min(ids),
        last_decision_id=max(ids),
    )
    return BillingRun.objects.get(pk=copy.pk)


@pytest.fixture
def source(world) -> BillingRun:
    p = _payer_with_members(world.tenant, active=30, no_service=14, partial=6)
    return b.completed_run(world.tenant, [p], mode="SIMULATION")


def test_decision_pages_show_offset_rows_for_a_run_interleaved_with_another(world, source):
    # given two runs whose decisions were written alternately (as two workers would): each
    # source decision copied into x then y, in three months (150 decisions each, ids interleaved)
    x_run = b.trigger(world.tenant, [rp.payer for rp in source.run_payers.all()], mode="SIMULATION")
    y_run = b.trigger(world.tenant, [rp.payer for rp in source.run_payers.all()], mode="SIMULATION")
    rows = []
    for month in (date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)):
        for d in Decision.objects.filter(run=source).order_by("-id"):
            for target in (x_run, y_run):
                rows.append(
                    Decision(
                        tenant=d.tenant,
                        run=target,
                        payer=d.payer,
                        member=d.member,
                        month=month,
                        decision_class=d.decision_class,
                        billable=d.billable,
                        billable_days=d.billable_days,
                        amount=d.amount,
                        rule_version=d.rule_version,
                        tier=d.tier,
                        inputs=d.inputs,
                    )
                )
    created = Decision.objects.bulk_create(rows)
    if created[0].pk is None:  # backends that do not return ids
        created = list(Decision.objects.filter(run__in=[x_run, y_run]).order_by("id"))
    x_run, y_run = _completed_copy(x_run, created), _completed_copy(y_run, created)
    x_ids = list(Decision.objects.filter(run=x_run).values_list("id", flat=True))
    assert x_run.first_decision_id < y_run.first_decision_id < x_run.last_decision_id
    assert len(x_ids) == 150 and x_run.last_decision_id - x_run.first_decision_id == 298

    c = _client(world)
    # then every page, unfiltered and by class, shows the OFFSET page's rows and pager
    _assert_pages_match_offset(c, x_run)
    for cls in (ACTIVE, NO_SERVICE, PARTIAL):
        _assert_pages_match_offset(c, x_run, cls)
    # and the pages came from marks (computed on the first view, stored once)
    assert DecisionPageMark.objects.filter(run=x_run, decision_class="").count() == 3
    assert DecisionPageMark.objects.filter(run=x_run, decision_class=ACTIVE).count() == 2
    assert not DecisionPageMark.objects.filter(run=y_run).exists()
    _assert_pages_match_offset(c, y_run, ACTIVE)


def test_run_completion_stores_the_first_id_of_every_page(world):
    # given a production run of 137 decisions (85 active, 45 no service, 7 partial)
    p = _payer_with_members(world.tenant, active=85, no_service=45, partial=7)
    run = b.completed_run(world.tenant, [p])

    # then its marks name the first decision of each page of 50, unfiltered and by class
    def marks(cls: str) -> list[int]:
        return list(
            DecisionPageMark.objects.filter(run=run, decision_class=cls)
            .order_by("page")
            .values_list("first_id", flat=True)
        )

    assert marks("") == [page[0] for page in _offset_pages(run)]
    assert len(marks("")) == 3
    for cls in (ACTIVE, NO_SERVICE, PARTIAL):
        assert marks(cls) == [page[0] for page in _offset_pages(run, cls)]
    assert marks("NOT_BILLED_TERMINATED") == []
    c = _client(world)
    _assert_pages_match_offset(c, run)
    _assert_pages_match_offset(c, run, ACTIVE)
    _assert_pages_match_offset(c, run, "NOT_BILLED_TERMINATED")  # no decisions: one empty page

    # when the run is regenerated, the superseded run still pages, and so does the new one
    new = run_services.billing_run_regenerate(
        actor=b.system(world.tenant), run_id=run.pk, reason="rule amendment", enqueue=False
    )
    new = sb.finish(new, package=False)
    run.refresh_from_db()
    assert run.status == BillingRun.Status.SUPERSEDED
    _assert_pages_match_offset(c, run)
    _assert_pages_match_offset(c, new, NO_SERVICE)
    assert DecisionPageMark.objects.filter(run=new, decision_class="").count() == 3


def test_a_simulation_without_marks_pages_and_stores_them_once(world, source):
    # given a completed simulation whose marks are gone (a run completed before marks existed)
    DecisionPageMark.objects.filter(run=source).delete()
    c = _client(world)

    # then its pages are the OFFSET pages, and its marks are stored on the first view
    _assert_pages_match_offset(c, source)
    stored = DecisionPageMark.objects.filter(run=source).count()
    assert stored == 1 + 1 + 1 + 1  # all 50 on one page; one page per class present
    _assert_pages_match_offset(c, source, NO_SERVICE)
    assert DecisionPageMark.objects.filter(run=source).count() == stored
    decision_page_marks_write(source)  # computing again adds nothing
    assert DecisionPageMark.objects.filter(run=source).count() == stored


def test_filters_without_marks_keep_offset_pages(world):
    # given a run of 60 decisions, over the page size
    p = _payer_with_members(world.tenant, active=60, no_service=0, partial=0)
    run = b.completed_run(world.tenant, [p])
    c = _client(world)
    # then filtered by payer (no marks, no counter) page 2 shows the last 10 rows
    url = f"/billing/runs/{run.pk}/?tab=decisions&payer={p.code}&page=2"
    assert _rows(c.get(url)) == _offset_pages(run)[1]
    assert "page 2 of 2 (60 decisions)" in _pager(c.get(url))
