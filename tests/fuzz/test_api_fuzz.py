"""Schemathesis over the whole OpenAPI schema, in-process, as an OWNER and as a VIEWER.

Fails on any 5xx, a status code or body the schema does not document, a schema-valid request
refused with 400/422, and a schema-violating request accepted. New endpoints are fuzzed as soon
as they appear in /api/schema/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from django.db import transaction
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def api_schema(keep_connection):
    from config.wsgi import application

    config = SchemathesisConfig.from_path(CONFIG)
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


# Known issues: failures the fuzz finds today that are being fixed elsewhere or still open.
# Each entry is (operation label regex, failure class, text in the failure message, why).
# A failure matching an entry does not fail the run; everything else does. The lead removes
# entries as the fixes land: the list must end empty.
KNOWN_ISSUES: list[tuple[str, str, str, str]] = []


def _is_known(failure) -> bool:
    text = f"{failure.title}\n{failure.message}"
    return any(
        re.match(label, failure.operation) and type(failure).__name__ == kind and needle in text
        for label, kind, needle, _why in KNOWN_ISSUES
    )


def _call(case, token: str):
    """One example in its own transaction, rolled back: every example starts from the demo data."""
    with transaction.atomic():
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
        except FailureGroup as group:
            unknown = [f for f in group.exceptions if not _is_known(f)]
            if unknown:
                raise FailureGroup(unknown, str(group)) from None
        finally:
            transaction.set_rollback(True)


@schema.parametrize()
def test_api_as_owner(case, fuzz_tokens):
    _call(case, fuzz_tokens["owner"])


@schema.parametrize()
def test_api_as_viewer(case, fuzz_tokens):
    _call(case, fuzz_tokens["viewer"])
