"""Two event types of a test app, registered for a test and removed afterwards.

from tests.core.event_types_fixture import OTHER, THING, catalogue  # noqa: F401 (fixture)
"""

from __future__ import annotations

import pytest

from core import events as E

THING = "testing.thing.changed"
OTHER = "testing.thing.removed"


@pytest.fixture
def catalogue():
    """THING and OTHER in the event catalogue for the test's duration."""
    E.event_types_register(
        "testing",
        [
            E.EventType(
                name=THING,
                description="A test thing changed.",
                object_type="testing.Thing",
                sample={"thing_id": 1, "state": "DONE", "amount": "10.00"},
            ),
            E.EventType(
                name=OTHER,
                description="A test thing was removed.",
                object_type="testing.Thing",
                sample={"thing_id": 1},
            ),
        ],
    )
    yield
    for name in (THING, OTHER):
        E._TYPES.pop(name, None)
