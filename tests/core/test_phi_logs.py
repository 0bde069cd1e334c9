"""No PHI in any log line (issue 11, defect 1): the records written by the real console handler
(formatter and filters from settings.LOGGING) are searched for the member data a test used."""

import json
import logging

import psycopg
import pytest
from django.db import DataError
from rest_framework.exceptions import ValidationError

from core import scopes as S
from ingestion import services as ingestion_services
from tests.logcapture import console_output

# Built at run time so that the traceback's source lines show names, never the values.
MEMBER_ID = "M" + "000029"
FIRST, LAST = "Jo" + "sephine", "Smith" + "erson"
BIRTH = "1961" + "-04-17"
PHI = (MEMBER_ID, FIRST, LAST, BIRTH)
ROW_JSON = json.dumps(
    {"member_id": MEMBER_ID, "first_name": FIRST, "last_name": LAST, "birth_date": BIRTH}
)


@pytest.fixture
def log_text():
    with console_output() as buffer:
        yield buffer.getvalue


def _no_phi(text: str) -> None:
    assert text.strip(), "nothing was logged"
    for value in PHI:
        assert value not in text, f"{value} leaked into the log:\n{text}"


def _copy_failure() -> DataError:
    """What Django raises when PostgreSQL refuses a COPY row: the row is in its CONTEXT."""
    message = (
        f'invalid input syntax for type date: "{BIRTH}"\n'
        f"DETAIL:  Key (member_id)=({MEMBER_ID}) already exists.\n"
        f'CONTEXT:  COPY ingestion_batchrecord, line 1, column data: "{ROW_JSON}"'
    )
    try:
        try:
            raise psycopg.errors.DataError(message)
        except psycopg.Error as inner:
            raise DataError(message) from inner
    except DataError as outer:
        return outer


def test_a_500_while_storing_records_logs_no_phi(world, monkeypatch, log_text):
    # given storing records fails inside the database with the row in the error
    def fail(*args, **kwargs):
        raise _copy_failure()

    monkeypatch.setattr(ingestion_services, "_store_records", fail)
    record = {"rowNumber": 1, "data": json.loads(ROW_JSON)}
    # when a batch is created / then 500, and the log names the request and the error type only
    response = world.client(S.Role.OPERATIONS).post(
        "/api/batches", {"kind": "SERVICE_DELIVERY", "records": [record]}, format="json"
    )
    assert response.status_code == 500
    text = log_text()
    _no_phi(text)
    failure = next(json.loads(line) for line in text.splitlines() if '"ERROR"' in line)
    assert failure["request_id"] == response.json()["error"]["details"]["request_id"]
    assert "django.db.utils.DataError" in failure["exc"]
    assert "psycopg.errors.DataError" in failure["exc"]  # the chained cause, type only
    assert "ingestion/api/views.py" in failure["exc"]  # the frames are kept


def test_query_strings_of_4xx_lines_are_dropped(world, log_text):
    # when a viewer asks for something it may not see, with a member id in the query string
    client = world.client(S.Role.VIEWER)
    client.get(f"/api/no-such-list?member={MEMBER_ID}&name={LAST}")
    client.get(f"/api/batches?member={MEMBER_ID}", headers={"Authorization": "Bearer nope"})
    # then the warning lines name the path, never the query
    text = log_text()
    _no_phi(text)
    assert "/api/no-such-list" in text


def test_exceptions_passed_as_arguments_and_serializer_echoes_are_withheld(log_text):
    log = logging.getLogger("healthbill.ingestion")
    echo = ValidationError({"member": [f'Invalid pk "{MEMBER_ID}" - object does not exist.']})
    log.warning("refused: %s", echo)
    log.error("store failed: %s", _copy_failure())
    log.error("store failed", exc_info=_copy_failure(), extra={"row": json.loads(ROW_JSON)})
    log.warning("called with /api/billing/members?q=%s", LAST)
    _no_phi(log_text())


def test_django_q_failure_lines_keep_the_task_and_drop_the_error(log_text):
    # django-q2 formats "Failed '<func>' (<name>) - <error> : <traceback>" itself
    try:
        raise _copy_failure()
    except DataError as exc:
        import traceback

        result = f"{exc} : {traceback.format_exc()}"
    logging.getLogger("django_q").error(
        f"Failed 'ingestion.tasks.batch_process' (nine-alpha) - {result}"
    )
    text = log_text()
    _no_phi(text)
    assert "Failed 'ingestion.tasks.batch_process' (nine-alpha)" in text
    assert "DataError" in text


def test_database_error_values_in_messages_are_withheld(log_text):
    logging.getLogger("healthbill.core").error(
        f'value "{MEMBER_ID}" is out of range for type integer\nCONTEXT: COPY x, line 1: "{FIRST}"'
    )
    _no_phi(log_text())


@pytest.mark.postgres
def test_a_real_database_error_on_postgresql_logs_no_phi(world, log_text):
    # given PostgreSQL refusing a value with the row in its message
    from django.db import connection, transaction

    log = logging.getLogger("healthbill.ingestion")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT %s::date", [f"{MEMBER_ID} {FIRST} {LAST} {BIRTH}"])
    except DataError:
        log.exception("store failed")
    _no_phi(log_text())
