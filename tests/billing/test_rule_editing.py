"""Rule versions on screen (issue 10, capability 2): a draft from a form or by copying the active
version, errors as `load_rules` names them placed beside the field or row (typed values kept),
editing a draft, the diff against the active version in the activation confirmation, and the
Activate button visible (it was hidden in a collapsed section)."""

from __future__ import annotations

import html
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from django.test import Client

from billing.engine import params_hash
from billing.models import RuleVersion
from billing.services.rule_drafts import next_version_label
from billing.services.rules import rules_load
from core import scopes as S
from core.exceptions import DomainError
from core.models import AuditEntry
from tests.billing import api_builders as b

R = S.Role


def _client(world, role: str = R.BILLING_MANAGER) -> Client:
    c = Client()
    c.force_login(world.users[role])
    return c


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _form(payer_code: str, **changes) -> dict:
    """The POST of the rule form describing the SPEC example params."""
    data = {
        "payer": payer_code,
        "version": "v2",
        "effective_from": "2027-01-01",
        "requires_service_delivery": "1",
        "qualifying_service_codes": "99213, 99214",
        "retro_window_months": "3",
        "proration": "DAILY",
        "min_billable_days": "1",
        "file_precedence": "MANUAL, AMENDED_FILE, FULL_FILE, CHANGE_FILE",
        "combo_primary": ["MED", ""],
        "combo_suffix": ["D", ""],
        "combo_combined": ["MED_DENTAL", ""],
        "tier_benefit": ["MED", ""],
        "tier_min_age": ["0", ""],
        "tier_max_age": ["64", ""],
        "tier_rate": ["412.50", ""],
    }
    data.update(changes)
    return data


def _tier_row(page: str, index: int) -> str:
    match = re.search(rf'<tr class="tier-row[^"]*" data-row="{index}">.*?</tr>', page, re.S)
    assert match, f"no tier row {index}"
    return match.group(0)


# --- create from the form -----------------------------------------------------------------


def test_draft_from_the_form_has_the_params_load_rules_would_store(world):
    payer = b.payer(world.tenant)
    response = _client(world).post("/billing/rules/new/", _form(payer.code))
    assert response.status_code == 302
    rv = RuleVersion.objects.get(payer=payer, version="v2")
    assert rv.status == RuleVersion.Status.DRAFT
    assert rv.effective_from == date(2027, 1, 1)
    assert rv.params == b.PARAMS
    assert rv.params_hash == params_hash(b.PARAMS)


def test_form_errors_name_the_row_and_field_as_load_rules_does_and_keep_typed_values(world):
    payer = b.payer(world.tenant)
    data = _form(
        payer.code,
        retro_window_months="30",
        tier_benefit=["MED", "MED", "DEN"],
        tier_min_age=["0", "65", "10"],
        tier_max_age=["64", "120", "5"],
        tier_rate=["412.50", "abc", "12.345"],
        combo_primary=["MED"],
        combo_suffix=[""],
        combo_combined=["MED_DENTAL"],
    )
    response = _client(world).post("/billing/rules/new/", data)
    assert response.status_code == 400
    page = _text(response)
    assert not RuleVersion.objects.filter(payer=payer).exists()

    # the same violations load_rules names for the same params
    params = {
        **b.PARAMS,
        "retro_window_months": 30,
        "benefit_combinations": [{"primary": "MED", "suffix": "", "combined": "MED_DENTAL"}],
        "pricing_tiers": [
            {"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "412.50"},
            {"benefit": "MED", "min_age": 65, "max_age": 120, "rate": "abc"},
            {"benefit": "DEN", "min_age": 10, "max_age": 5, "rate": "12.345"},
        ],
    }
    entry = {"payer": {"code": payer.code}, "version": "v9", "effective_from": "2027-01-01"}
    with pytest.raises(DomainError) as loaded:
        rules_load(actor=b.system(world.tenant), entries=[{**entry, "params": params}])
    violations = loaded.value.details["params"]
    assert violations == [
        "retro_window_months: expected a whole number from 0 to 24",
        "benefit_combinations[0].suffix: expected a non-empty string",
        "pricing_tiers[1].rate: expected a decimal string",
        "pricing_tiers[2].max_age: expected max_age >= min_age",
        "pricing_tiers[2].rate: expected a non-negative amount with at most 2 decimals",
    ]
    for v in violations:
        assert v in page

    # each beside its row and field
    assert "pricing_tiers" not in _tier_row(page, 0)
    row2, row3 = _tier_row(page, 1), _tier_row(page, 2)
    assert "pricing_tiers[1].rate: expected a decimal string" in row2
    assert "pricing_tiers[2].max_age: expected max_age >= min_age" in row3
    assert re.search(r'name="tier_max_age" value="5".*?pricing_tiers\[2\]\.max_age', row3, re.S), (
        "the max_age error sits beside the max_age cell"
    )
    assert "Pricing tier row 2: pricing_tiers[1].rate: expected a decimal string" in page
    assert re.search(
        r'id="rf-retro"[^>]*>\s*<p class="error field-error" data-field="retro_window_months">'
        r"retro_window_months: expected a whole number from 0 to 24",
        page,
    )
    # typed values kept
    assert 'name="tier_rate" value="abc"' in row2
    assert 'name="tier_rate" value="12.345"' in row3
    assert 'id="rf-retro" name="retro_window_months" value="30"' in page
    assert 'id="rf-version" name="version" value="v2"' in page


def test_version_label_taken_is_shown_beside_the_version(world):
    payer = b.payer_with_rules(world.tenant)
    response = _client(world).post("/billing/rules/new/", _form(payer.code, version="v1"))
    assert response.status_code == 400
    page = _text(response)
    assert re.search(r'data-field="version">[^<]*already has a rule version \'v1\'', page)


def test_added_rows_become_tiers_and_blank_rows_are_ignored(world):
    payer = b.payer(world.tenant)
    data = _form(
        payer.code,
        tier_benefit=["MED", "", "MED", ""],
        tier_min_age=["0", "", "65", ""],
        tier_max_age=["64", "", "120", ""],
        tier_rate=["412.50", "", "300", ""],
    )
    assert _client(world).post("/billing/rules/new/", data).status_code == 302
    tiers = RuleVersion.objects.get(payer=payer).params["pricing_tiers"]
    assert [(t["min_age"], t["rate"]) for t in tiers] == [(0, "412.50"), (65, "300")]


def test_new_draft_form_offers_an_add_row_button_and_an_empty_row(world):
    page = _text(_client(world).get("/billing/rules/new/"))
    assert 'data-add-row="#tiers"' in page and 'data-add-row="#combos"' in page
    assert 'name="tier_benefit" value=""' in page


# --- copy and edit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "taken", "expected"),
    [
        ("v1", {"v1"}, "v2"),
        ("2026.1", {"2026.1"}, "2026.2"),
        ("v09", {"v09"}, "v10"),
        ("v1", {"v1", "v2"}, "v3"),
        ("base", {"base"}, "base.2"),
    ],
)
def test_next_version_label(label, taken, expected):
    assert next_version_label(label, taken) == expected


def test_copy_active_makes_an_identical_draft_one_version_up(world):
    payer = b.payer_with_rules(world.tenant)
    active = RuleVersion.objects.get(payer=payer)
    c = _client(world)
    response = c.post("/billing/rules/copy/", {"payer": payer.code})
    draft = RuleVersion.objects.get(payer=payer, version="v2")
    assert response.status_code == 302
    assert response["Location"] == f"/billing/rules/{draft.pk}/edit/"
    assert draft.status == RuleVersion.Status.DRAFT
    assert (draft.params, draft.params_hash, draft.effective_from) == (
        active.params,
        active.params_hash,
        active.effective_from,
    )
    assert AuditEntry.objects.filter(action="RULE_VERSION_COPIED", object_id=str(draft.pk)).exists()
    # the edit form opens with the copied values
    page = _text(c.get(response["Location"]))
    assert 'name="tier_rate" value="412.50"' in page
    assert 'id="rf-codes" name="qualifying_service_codes" size="50" value="99213, 99214"' in page
    # a second copy is one more version up
    c.post("/billing/rules/copy/", {"payer": payer.code})
    assert RuleVersion.objects.filter(payer=payer, version="v3", status="DRAFT").exists()


def test_copy_without_an_active_version_says_so(world):
    payer = b.payer(world.tenant)
    response = _client(world).post("/billing/rules/copy/", {"payer": payer.code}, follow=True)
    assert f"{payer.code} has no active rule version to copy" in _text(response)
    assert not RuleVersion.objects.filter(payer=payer).exists()


def test_edit_draft_saves_params_and_refuses_active_versions(world):
    payer = b.payer_with_rules(world.tenant)
    draft = b.rule_version(world.tenant, payer, version="v2", activate=False)
    c = _client(world)
    response = c.post(
        f"/billing/rules/{draft.pk}/edit/",
        _form(payer.code, tier_rate=["500.00", ""], effective_from="2027-02-01"),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.params["pricing_tiers"][0]["rate"] == "500.00"
    assert draft.effective_from == date(2027, 2, 1)

    bad = c.post(f"/billing/rules/{draft.pk}/edit/", _form(payer.code, tier_rate=["x", ""]))
    assert bad.status_code == 400
    assert "pricing_tiers[0].rate: expected a decimal string" in _tier_row(_text(bad), 0)
    draft.refresh_from_db()
    assert draft.params["pricing_tiers"][0]["rate"] == "500.00"

    active = RuleVersion.objects.get(payer=payer, version="v1")
    response = c.post(f"/billing/rules/{active.pk}/edit/", _form(payer.code), follow=True)
    assert "only drafts change" in _text(response)
    active.refresh_from_db()
    assert active.effective_from == date(2025, 1, 1)


# --- diff, activation ---------------------------------------------------------------------


class _ActivateVisibility(HTMLParser):
    """Whether each Activate button sits inside a collapsed <details>."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # open flag of each enclosing <details>
        self.hidden: list[bool] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            self.stack.append("open" in attrs)
        if tag == "button" and attrs.get("value") == "activate":
            self.hidden.append(not all(self.stack))

    def handle_endtag(self, tag):
        if tag == "details" and self.stack:
            self.stack.pop()


def test_a_drafts_activate_button_is_not_hidden_in_a_collapsed_section(world):
    payer = b.payer_with_rules(world.tenant)
    b.rule_version(world.tenant, payer, version="v2", activate=False)
    parser = _ActivateVisibility()
    parser.feed(_client(world).get("/billing/rules/").content.decode())
    assert parser.hidden == [False]


def test_rules_page_shows_the_drafts_diff_and_the_activation_confirms_it(world):
    payer = b.payer_with_rules(world.tenant)
    draft = b.rule_version(
        world.tenant,
        payer,
        version="v2",
        activate=False,
        raw=b.params(
            pricing_tiers=[{"benefit": "MED", "min_age": 0, "max_age": 64, "rate": "500.00"}]
        ),
    )
    page = _text(_client(world).get("/billing/rules/"))
    diff = re.search(rf'<div class="draft-diff" id="diff-{draft.pk}">.*?</div>', page, re.S)
    assert diff and "Changes against active v1" in diff.group(0)
    assert re.search(
        r"<code>pricing_tiers\[0\]\.rate</code></th><td>412.50</td><td>500.00</td>", diff.group(0)
    )
    form = re.search(r'<form method="post" class="inline activate-form"[^>]*>', page).group(0)
    assert f'data-confirm="Activate {payer.code} v2: from ' in form
    assert "it replaces v1" in form
    assert '1 param differs from active v1: pricing_tiers[0].rate: 412.50 → 500.00."' in form


def test_activation_summary_for_a_payer_without_an_active_version(world):
    payer = b.payer(world.tenant)
    b.rule_version(world.tenant, payer, version="v1", activate=False)
    page = _text(_client(world).get("/billing/rules/"))
    assert f"{payer.code} has no active version: this becomes its first." in page


def test_activation_through_the_confirm_form_activates_the_draft(world):
    payer = b.payer_with_rules(world.tenant)
    draft = b.rule_version(world.tenant, payer, version="v2", activate=False)
    c = _client(world)
    page = _text(c.get("/billing/rules/"))
    assert f'<input type="hidden" name="rule_version" value="{draft.pk}">' in page
    response = c.post("/billing/rules/", {"rule_version": draft.pk, "action": "activate"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RuleVersion.Status.ACTIVE
    assert AuditEntry.objects.filter(
        action="RULE_VERSION_ACTIVATED", object_id=str(draft.pk)
    ).exists()


@pytest.mark.parametrize("role", [R.OPERATIONS, R.VIEWER])
def test_rule_editing_is_refused_without_rules_manage(world, role):
    payer = b.payer_with_rules(world.tenant)
    draft = b.rule_version(world.tenant, payer, version="v2", activate=False)
    c = _client(world, role)
    assert c.get("/billing/rules/new/").status_code == 403
    assert c.post("/billing/rules/new/", _form(payer.code, version="v3")).status_code == 403
    assert c.post("/billing/rules/copy/", {"payer": payer.code}).status_code == 403
    assert c.get(f"/billing/rules/{draft.pk}/edit/").status_code == 403
    assert RuleVersion.objects.filter(payer=payer).count() == 2
    page = _text(c.get("/billing/rules/"))
    assert "Copy active version to a new draft" not in page
