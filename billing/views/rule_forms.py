"""The rule version form: params to form values and back, `load_rules` violations placed beside
the field or table row they name, and a diff of two versions' params."""

from __future__ import annotations

import re
from itertools import zip_longest

from billing.engine import ParamsInvalid, parse_params
from billing.engine.params import PRORATIONS, SOURCE_KINDS

TIER_FIELDS = ("benefit", "min_age", "max_age", "rate")
COMBO_FIELDS = ("primary", "suffix", "combined")
BLANK_ROWS = 1  # empty rows offered below the filled ones (more with "Add row")
_PATH = re.compile(r"^(?P<field>[a-z_]+)(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>[a-z_]+))?$")


def _list_text(values) -> str:
    return ", ".join(map(str, values)) if isinstance(values, list) else str(values or "")


def form_from_params(params: dict) -> dict:
    """Form values (text, as typed) of stored params."""
    return {
        "requires_service_delivery": bool(params.get("requires_service_delivery")),
        "qualifying_service_codes": _list_text(params.get("qualifying_service_codes", [])),
        "retro_window_months": str(params.get("retro_window_months", 0)),
        "proration": params.get("proration", "DAILY"),
        "min_billable_days": str(params.get("min_billable_days", 1)),
        "file_precedence": _list_text(params.get("file_precedence", list(SOURCE_KINDS))),
        "combos": [
            {**{f: str(c.get(f, "")) for f in COMBO_FIELDS}, "errors": {}}
            if isinstance(c, dict)
            else {"primary": "", "suffix": "", "combined": "", "errors": {}}
            for c in params.get("benefit_combinations", [])
        ],
        "tiers": [
            {**{f: str(t.get(f, "")) for f in TIER_FIELDS}, "errors": {}}
            if isinstance(t, dict)
            else {**dict.fromkeys(TIER_FIELDS, ""), "errors": {}}
            for t in params.get("pricing_tiers", [])
        ],
    }


def _whole(text: str):
    """'3' -> 3; anything else stays text, so the schema names it as load_rules would."""
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _items(text: str) -> list[str]:
    return [v for v in re.split(r"[,\s]+", text.strip()) if v]


def _rows(post, prefix: str, fields: tuple[str, ...]) -> list[dict]:
    """Table rows from repeated inputs `<prefix>_<field>`; rows left blank are dropped."""
    columns = [post.getlist(f"{prefix}_{f}") for f in fields]
    rows = []
    for values in zip_longest(*columns, fillvalue=""):
        row = {f: v.strip() for f, v in zip(fields, values, strict=True)}
        if any(row.values()):
            rows.append({**row, "errors": {}})
    return rows


def form_from_post(post) -> dict:
    """Form values as typed (kept when the form comes back with errors)."""
    return {
        "requires_service_delivery": bool(post.get("requires_service_delivery")),
        "qualifying_service_codes": post.get("qualifying_service_codes", "").strip(),
        "retro_window_months": post.get("retro_window_months", "").strip(),
        "proration": post.get("proration", "").strip(),
        "min_billable_days": post.get("min_billable_days", "").strip(),
        "file_precedence": post.get("file_precedence", "").strip(),
        "combos": _rows(post, "combo", COMBO_FIELDS),
        "tiers": _rows(post, "tier", TIER_FIELDS),
    }


def params_from_form(form: dict) -> dict:
    """The params the form describes, in the load_rules JSON shape."""
    return {
        "requires_service_delivery": form["requires_service_delivery"],
        "qualifying_service_codes": _items(form["qualifying_service_codes"]),
        "retro_window_months": _whole(form["retro_window_months"]),
        "proration": form["proration"],
        "min_billable_days": _whole(form["min_billable_days"]),
        "file_precedence": [v.upper() for v in _items(form["file_precedence"])],
        "benefit_combinations": [{f: c[f] for f in COMBO_FIELDS} for c in form["combos"]],
        "pricing_tiers": [
            {
                "benefit": t["benefit"],
                "min_age": _whole(t["min_age"]),
                "max_age": _whole(t["max_age"]),
                "rate": t["rate"],
            }
            for t in form["tiers"]
        ],
    }


def place_violations(form: dict, violations: list[str]) -> dict[str, list[str]]:
    """Put each `path: expected` violation beside its field or row; returns field errors."""
    errors: dict[str, list[str]] = {}
    tables = {"pricing_tiers": form["tiers"], "benefit_combinations": form["combos"]}
    for text in violations:
        path = text.split(":", 1)[0]
        m = _PATH.match(path)
        field, index = (m.group("field"), m.group("index")) if m else (path, None)
        rows = tables.get(field)
        if rows is not None and index is not None and int(index) < len(rows):
            rows[int(index)]["errors"][m.group("sub") or "row"] = text
        else:
            errors.setdefault(field, []).append(text)
    return errors


def validate_form(form: dict) -> tuple[dict, dict[str, list[str]]]:
    """The params and the errors of the form (none when the schema accepts them)."""
    params = params_from_form(form)
    try:
        parse_params(params)
    except ParamsInvalid as exc:
        return params, place_violations(form, exc.violations)
    return params, {}


def has_row_errors(form: dict) -> bool:
    return any(r["errors"] for r in (*form["tiers"], *form["combos"]))


def with_blank_rows(form: dict) -> dict:
    """The form with empty rows to type into below the filled ones."""
    blank_tier = {**dict.fromkeys(TIER_FIELDS, ""), "errors": {}}
    blank_combo = {**dict.fromkeys(COMBO_FIELDS, ""), "errors": {}}
    return {
        **form,
        "tiers": [*form["tiers"], *[dict(blank_tier) for _ in range(BLANK_ROWS)]],
        "combos": [*form["combos"], *[dict(blank_combo) for _ in range(BLANK_ROWS)]],
    }


CHOICES = {"prorations": PRORATIONS, "source_kinds": SOURCE_KINDS}


# --- diff ---------------------------------------------------------------------------------


def flatten(params, prefix: str = "") -> dict[str, str]:
    """Params as `path -> text` (lists of objects by index, lists of values joined)."""
    out: dict[str, str] = {}
    if isinstance(params, dict):
        for key in sorted(params):
            out.update(flatten(params[key], f"{prefix}.{key}" if prefix else key))
    elif isinstance(params, list) and params and all(isinstance(p, dict) for p in params):
        for i, item in enumerate(params):
            out.update(flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix] = ", ".join(map(str, params)) if isinstance(params, list) else str(params)
    return out


def params_diff(old: dict, new: dict) -> list[tuple[str, str, str]]:
    """(path, old text, new text) for every param that differs ('—' where absent)."""
    fo, fn = flatten(old), flatten(new)
    return [
        (key, fo.get(key, "—"), fn.get(key, "—"))
        for key in sorted(set(fo) | set(fn))
        if fo.get(key) != fn.get(key)
    ]


def version_name(label: str) -> str:
    """'2026.1' -> 'v2026.1'; a label that already reads 'v2' stays."""
    return label if re.match(r"^[vV]\d", label) else f"v{label}"


def activation_summary(draft, active, shown: int = 5, head: str | None = None) -> str:
    """What activating `draft` changes, in words and numbers (for the confirmation dialog)."""
    code = draft.payer.code
    name = version_name(draft.version)
    head = head or f"Activate {code} {name} for months from {draft.effective_from:%Y-%m}."
    if active is None:
        return f"{head} {draft.payer.code} has no active version: this becomes its first."
    rows = params_diff(active.params, draft.params)
    dates = (
        f" Effective from {active.effective_from:%Y-%m-%d} → {draft.effective_from:%Y-%m-%d}."
        if active.effective_from != draft.effective_from
        else ""
    )
    if not rows:
        return f"{head} Params identical to active {version_name(active.version)}.{dates}"
    listed = "; ".join(f"{k}: {o} → {n}" for k, o, n in rows[:shown])
    more = f"; and {len(rows) - shown} more" if len(rows) > shown else ""
    noun = "param differs" if len(rows) == 1 else "params differ"
    old = version_name(active.version)
    return f"{head} {len(rows)} {noun} from active {old}: {listed}{more}.{dates}"
