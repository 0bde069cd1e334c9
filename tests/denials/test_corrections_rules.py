"""The pure correction handlers: each outcome, the registry, and the fingerprint's property."""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denials import corrections as c


def _line(n=1, code="99213", modifier="", current=None, auth="") -> dict:
    return {
        "line": n,
        "code": code,
        "service_date": "2026-11-02",
        "modifier": modifier,
        "current_modifier": modifier if current is None else current,
        "authorization": auth,
    }


def test_registry_by_carc_and_supported_list():
    assert c.handlers_for("197") == ["missing_authorization"]
    assert c.handlers_for("15") == ["missing_authorization"]
    assert c.handlers_for("31") == c.handlers_for("140") == ["member_id_mismatch"]
    assert c.handlers_for("4") == ["missing_modifier"]
    assert c.handlers_for("29") == ["timely_filing"]
    assert c.handlers_for("45") == []
    assert c.supported_carcs() == ["4", "15", "29", "31", "140", "197"]
    with pytest.raises(KeyError, match="known: missing_authorization"):
        c.handler_get("nope")


def test_missing_authorization_outcomes():
    none = c.run("missing_authorization", {"claim_authorization": "", "lines": [_line()]})
    assert none.outcome == "SKIPPED" and none.result["message"] == "no authorization on file yet"
    same = c.run(
        "missing_authorization", {"claim_authorization": "A1", "lines": [_line(auth="A1")]}
    )
    assert same.outcome == "SKIPPED" and "already sent" in same.result["message"]
    got = c.run(
        "missing_authorization",
        {"claim_authorization": "", "lines": [_line(), _line(2, auth="AUTH-5")]},
    )
    assert got.outcome == "SUCCESS" and got.changes == {"authorization": "AUTH-5"}


def test_member_id_mismatch_outcomes_keep_ids_out_of_the_result():
    same = c.run("member_id_mismatch", {"sent_member_id": "ID1", "current_member_id": "ID1"})
    assert same.outcome == "SKIPPED" and "correct the member record first" in same.result["message"]
    got = c.run("member_id_mismatch", {"sent_member_id": "ID1", "current_member_id": "ID2"})
    assert got.outcome == "SUCCESS" and got.changes == {"subscriber_id": "ID2"}
    assert "ID1" not in str(got.result) and "ID2" not in str(got.result)
    message = got.result["message"]
    assert message == "member id changed since submission: rebill under the current id"
    empty = c.run("member_id_mismatch", {"sent_member_id": "ID1", "current_member_id": ""})
    assert empty.outcome == "FAILED"


def test_missing_modifier_outcomes():
    # a therapy code without its discipline modifier: the table's default GP
    got = c.run("missing_modifier", {"lines": [_line(code="97110")]})
    assert got.outcome == "SUCCESS" and got.changes == {"modifiers": {"1": "GP"}}
    # a laterality code: someone supplied RT on the charge since
    side = c.run("missing_modifier", {"lines": [_line(code="73030", current="RT")]})
    assert side.outcome == "SUCCESS" and side.changes == {"modifiers": {"1": "RT"}}
    # nobody supplied the side and the table has no default: FAILED naming the line
    fail = c.run("missing_modifier", {"lines": [_line(code="99213"), _line(2, code="20610")]})
    assert fail.outcome == "FAILED"
    assert fail.result["lines"] == ["line 2 (20610) needs one of RT, LT, 50"]
    # already sent with a valid modifier, nothing else changed: SKIPPED
    skip = c.run("missing_modifier", {"lines": [_line(code="73030", modifier="LT")]})
    assert skip.outcome == "SKIPPED"
    assert skip.result["message"] == "nothing differs from what was sent"
    # a code outside the table whose charge modifier was corrected by hand is rebilled too
    hand = c.run("missing_modifier", {"lines": [_line(code="99213", current="25")]})
    assert hand.outcome == "SUCCESS" and hand.changes == {"modifiers": {"1": "25"}}


def _tf(submitted, days=90, icn="000000042"):
    return {
        "first_service_date": "2026-01-10",
        "original_submitted_on": submitted,
        "original_interchange": icn,
        "filing_days": days,
    }


def test_timely_filing_outcomes():
    ok = c.run("timely_filing", _tf("2026-04-10"))  # day 90: still inside
    assert ok.outcome == "SUCCESS" and ok.changes == {}
    assert "originally submitted on 2026-04-10 in interchange 000000042" in ok.result["message"]
    late = c.run("timely_filing", _tf("2026-04-11"))
    assert late.outcome == "FAILED"
    assert late.result["message"] == (
        "filing limit passed on 2026-04-10 (first sent 2026-04-11): write off"
    )
    never = c.run("timely_filing", _tf(None))
    assert never.outcome == "FAILED" and "write off" in never.result["message"]


def test_handlers_read_only_their_declared_inputs():
    # each handler is called with exactly its reads: an undeclared key never reaches it
    seen = {}
    for h in c.handlers():
        seen[h.name] = set(c.inputs_read(h.name, {"junk": 1, **dict.fromkeys(h.reads)}))
        assert seen[h.name] == set(h.reads)
        # and its body only subscripts or .get()s keys it declares
        tree = ast.parse(textwrap.dedent(inspect.getsource(h.fn)))
        subscripts = {
            n.slice.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Subscript)
            and isinstance(n.value, ast.Name)
            and n.value.id == "inputs"
            and isinstance(n.slice, ast.Constant)
        }
        keys = subscripts | {
            n.args[0].value
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
            and getattr(n.func, "attr", "") == "get"
            and isinstance(getattr(n.func, "value", None), ast.Name)
            and n.func.value.id == "inputs"
            and n.args
            and isinstance(n.args[0], ast.Constant)
        }
        assert keys <= set(h.reads), (h.name, keys - set(h.reads))


def test_the_module_imports_no_django():
    source = inspect.getsource(c)
    assert "django" not in source


json_leaf = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=4))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
ALL_KEYS = sorted({k for h in c.handlers() for k in h.reads} | {"unrelated", "claim_number"})


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from([h.name for h in c.handlers()]),
    base=st.fixed_dictionaries(dict.fromkeys(ALL_KEYS, json_value)),
    key=st.sampled_from(ALL_KEYS),
    new=json_value,
)
def test_fingerprint_changes_iff_an_input_read_changes(name, base, key, new):
    changed = base | {key: new}
    before, after = c.fingerprint(name, base), c.fingerprint(name, changed)
    read_changed = key in c.handler_get(name).reads and base[key] != new
    assert (before != after) == read_changed
    assert len(before) == 64 and int(before, 16) >= 0


def test_fingerprint_names_the_handler_and_version():
    inputs = {"sent_member_id": "A", "current_member_id": "A", "lines": [], "filing_days": 1}
    assert c.fingerprint("member_id_mismatch", inputs) != c.fingerprint("missing_modifier", inputs)
