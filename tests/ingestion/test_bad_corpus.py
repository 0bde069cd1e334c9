"""The bad-input corpus (issue 11, build 4): every broken file of tests/data/bad/, uploaded as
every kind ingestion knows, gets a clear error, and nothing stored changes except the attempt
itself (the artifact, the batch that records the failure and their audit entries)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Member, Payer, ServiceDeliveryEvent
from core import scopes as S
from core.models import AuditChainHead, AuditEntry, Event, EventRelayCursor, Notification
from ingestion.models import Artifact, Batch, BatchRecord
from ingestion.registry import handlers
from invoicing.models import Account, BillableCharge
from tests.data.bad import make_corpus

KINDS = [h.kind for h in handlers()]
CORPUS = make_corpus.HERE
FILES = sorted(p.name for p in (CORPUS / KINDS[0]).iterdir())
# The queue's own tables and sessions are machinery, not product data.
NOT_PRODUCT = {"django_q", "sessions"}


def _expected(kind: str, name: str) -> str:
    """What the refusal must say for a file (a part of the batch's failure message)."""
    handler = next(h for h in handlers() if h.kind == kind)
    if name.endswith(".x12") and handler.x12 is None:
        return f"X12 files are not accepted for {kind}"
    return {
        "empty.csv": "the file is empty",
        "header-only.csv": "the file has a header but no records",
        "truncated-in-quotes.csv": "line 2: a quoted field is never closed",
        "latin-1.csv": "not UTF-8 text: byte 0xE9 on line 2",
        "utf-16.csv": "the file is UTF-16 text, not UTF-8",
        "utf-16le-no-bom.csv": "the file is UTF-16 text, not UTF-8",
        "semicolons.csv": "separated by semicolons, not commas",
        "tabs.csv": "separated by tabs, not commas",
        "duplicate-header.csv": f"the header names these columns twice: {handler.columns[0]}",
        "nul-bytes.csv": "the file contains NUL bytes (the first on line 2)",
        "big-field.csv": "line 2: a field is longer than the 131,072 characters",
        "x12-truncated-isa.x12": "not a readable X12 file: ISA line is only 60 characters",
        "x12-truncated-body.x12": 'Mandatory segment "Transaction Set Trailer" (SE=0001) missing',
        "x12-wrong-terminator.x12": "declares '~' as the segment terminator",
        "x12-missing-iea.x12": 'Mandatory segment "Interchange Control Trailer"',
        "x12-wrong-se-count.x12": "SE count of 5 for SE02=0001 is wrong",
        "x12-wrong-ge-count.x12": "GE count of 3 for GE02=101 is wrong",
        "x12-wrong-iea-control.x12": "IEA id=000000999 does not match ISA id=000000101",
    }[name]


def snapshot() -> dict[str, dict]:
    """Every product table: rows by primary key."""
    tables = {}
    for model in apps.get_models():
        if model._meta.app_label in NOT_PRODUCT or model._meta.proxy:
            continue
        rows = model._default_manager.order_by("pk").values()
        tables[model._meta.label] = {r[model._meta.pk.attname]: r for r in rows}
    return tables


def changes(before: dict, after: dict) -> dict[str, dict]:
    """Per table: rows added, changed, removed (by primary key)."""
    out = {}
    for label, rows in after.items():
        old = before[label]
        added = [rows[pk] for pk in rows.keys() - old.keys()]
        removed = [old[pk] for pk in old.keys() - rows.keys()]
        changed = [rows[pk] for pk in rows.keys() & old.keys() if rows[pk] != old[pk]]
        if added or removed or changed:
            out[label] = {"added": added, "changed": changed, "removed": removed}
    return out


def assert_only_the_attempt_was_recorded(before: dict, after: dict, batch: Batch | None) -> None:
    """Nothing stored changed except the artifact, the batch (and its records) and their audit
    entries; the audit chain's head moved by exactly those entries."""
    diff = changes(before, after)
    # a failed batch also announces itself (issue 19): its event, the relay's cursor moving
    # past it, and the uploader's inbox notice
    told = (Event, EventRelayCursor, Notification)
    recorded = (Artifact, Batch, BatchRecord, AuditEntry, AuditChainHead, *told)
    labels = {m._meta.label for m in recorded}
    assert set(diff) <= labels, f"other tables changed: {sorted(set(diff) - labels)}"
    for label, d in diff.items():
        assert d["removed"] == [], label
        if label not in (AuditChainHead._meta.label, EventRelayCursor._meta.label):
            assert d["changed"] == [], label
    events = diff.get(Event._meta.label, {"added": []})["added"]
    # exactly the batch's own outcome: ingestion.batch.failed or .completed (rows refused)
    outcome = "failed" if batch is not None and batch.status == Batch.Status.FAILED else "completed"
    expected = [] if batch is None else [(f"ingestion.batch.{outcome}", str(batch.pk))]
    assert [(e["type"], e["object_id"]) for e in events] == expected
    artifacts = diff.get(Artifact._meta.label, {"added": []})["added"]
    assert len(artifacts) == (1 if batch else 0)
    assert [b["id"] for b in diff.get(Batch._meta.label, {"added": []})["added"]] == (
        [batch.pk] if batch else []
    )
    for rec in diff.get(BatchRecord._meta.label, {"added": []})["added"]:
        assert rec["batch_id"] == batch.pk and rec["status"] == BatchRecord.Status.ERROR
    attempt = {("ingestion.Artifact", str(a["id"])) for a in artifacts}
    if batch:
        attempt.add(("ingestion.Batch", str(batch.pk)))
    for entry in diff.get(AuditEntry._meta.label, {"added": []})["added"]:
        assert (entry["object_type"], entry["object_id"]) in attempt, entry["action"]


@pytest.fixture
def ops(world):
    return world.client(S.Role.OPERATIONS)


@pytest.fixture
def known(world):
    """The payer and member the corpus rows name (so only the file's defect can fail)."""
    Payer.objects.create(tenant=world.tenant, code="NORTHWIND", name="Northwind Health")
    for external_id in ("M000123", make_corpus.FORMULAS["member_id"]):
        Member.objects.create(
            tenant=world.tenant,
            external_id=external_id,
            first_name="Jane",
            last_name="Example",
            birth_date="1980-04-15",
        )
    # The invoicing account the BILLABLE_CHARGES and MEMBERSHIP_EVENTS examples name.
    Account.objects.create(tenant=world.tenant, number="A-100", name="Example", bill_cycle_day=15)
    return world


def _send(client, capture, kind: str, name: str, content: bytes):
    """Upload the file as the kind and make a batch of it: (upload response, batch or None)."""
    up = client.post(
        "/api/artifacts",
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
        format="multipart",
    )
    if up.status_code != 201:
        return up, None
    with capture(execute=True):
        made = client.post("/api/batches", {"artifactId": up.json()["id"]}, format="json")
    assert made.status_code == 201, made.content
    return made, Batch.objects.get(pk=made.json()["id"])


def test_the_committed_corpus_is_what_the_script_builds():
    # every kind the registry knows has its folder, byte for byte what make_corpus.py writes
    for handler in handlers():
        folder = CORPUS / handler.kind
        assert folder.is_dir(), f"run tests/data/bad/make_corpus.py: no corpus for {handler.kind}"
        committed = {p.name: p.read_bytes() for p in folder.iterdir()}
        assert committed == make_corpus.corpus(handler), f"{handler.kind}: run make_corpus.py"


CASES = [
    (kind, name)
    for kind in KINDS
    for name in [*FILES, "big-field.csv"]
    if name != "formula-cells.csv"
]


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}/{n}" for k, n in CASES])
def test_bad_file_is_refused_clearly_and_changes_nothing(
    known, ops, django_capture_on_commit_callbacks, kind, name
):
    handler = next(h for h in handlers() if h.kind == kind)
    content = (
        make_corpus.big_field(handler)
        if name == "big-field.csv"
        else (CORPUS / kind / name).read_bytes()
    )
    before = snapshot()

    # when the file is uploaded as the kind and a batch is made of it
    response, batch = _send(ops, django_capture_on_commit_callbacks, kind, name, content)

    if batch is None:
        # then either the upload itself is refused with a 400 naming the problem
        assert response.status_code == 400, response.content
        assert "empty" in response.json()["error"]["message"]
    elif name == "truncated-mid-row.csv":
        # or the cut record is refused, naming its row and what its shape should be
        assert batch.status == Batch.Status.COMPLETED_WITH_ERRORS
        (record,) = BatchRecord.objects.filter(batch=batch)
        assert record.status == BatchRecord.Status.ERROR
        width = len(handler.columns)
        assert record.error_detail.startswith(f"row 2: expected {width} fields, found ")
        assert (batch.total, batch.error, batch.success) == (1, 1, 0)
    else:
        # or the batch FAILED, saying what is wrong with the file, with no records
        assert batch.status == Batch.Status.FAILED, batch.failure
        assert _expected(kind, name) in batch.failure
        assert batch.total == 0
        assert not BatchRecord.objects.filter(batch=batch).exists()
        shown = ops.get(f"/api/batches/{batch.pk}").json()
        assert shown["status"] == "FAILED" and _expected(kind, name) in shown["failure"]

    # and nothing stored changed but the record of the attempt
    assert_only_the_attempt_was_recorded(before, snapshot(), batch)


@pytest.mark.parametrize("kind", KINDS)
def test_formula_cells_in_an_upload_are_data_stored_as_sent(
    known, ops, django_capture_on_commit_callbacks, kind
):
    # given a file whose ids, names and codes start with = + - @ (made to run in a spreadsheet)
    content = (CORPUS / kind / "formula-cells.csv").read_bytes()

    # when it is loaded
    _, batch = _send(ops, django_capture_on_commit_callbacks, kind, "formula-cells.csv", content)

    # then the row is loaded, not refused: the values are stored exactly as sent
    (record,) = BatchRecord.objects.filter(batch=batch)
    assert record.status == BatchRecord.Status.SUCCESS, record.error_detail
    batch.refresh_from_db()
    assert batch.status == Batch.Status.COMPLETED
    handler = next(h for h in handlers() if h.kind == kind)
    for column, value in make_corpus.FORMULAS.items():
        if column in handler.columns:
            assert record.data[column] == value
    member = Member.objects.get(external_id=make_corpus.FORMULAS["member_id"])
    if "first_name" in handler.columns:
        assert (member.first_name, member.last_name) == (
            make_corpus.FORMULAS["first_name"],
            make_corpus.FORMULAS["last_name"],
        )
    if "service_code" in handler.columns:
        event = ServiceDeliveryEvent.objects.get(member=member)
        assert event.service_code == make_corpus.FORMULAS["service_code"]
    if kind == "BILLABLE_CHARGES":
        charge = BillableCharge.objects.get(account__number="A-100")
        assert charge.description == make_corpus.FORMULAS["description"]
