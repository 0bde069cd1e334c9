"""The README stands on its own: what it points to is in the repository; the demo port is
documented and configurable."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core.management import call_command

from core.models import Tenant

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_readme_points_only_inside_the_repository():
    assert not re.search(r"(?<!\.)\.\./", README)  # "../x", but not "POST .../reject"
    assert "/work/" not in README
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_readme_names_files_that_exist():
    named = set(re.findall(r"[`(]((?:docs|scripts|config|core|templates)/[\w./-]+)[`)]", README))
    assert {"docs/conventions.md", "scripts/serve.sh"} <= named
    for path in named:
        assert (ROOT / path).exists(), path


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


def test_every_app_is_built_and_wallets_have_their_section():
    # nothing in the README is still marked as not built, the wallets app included
    assert "not built yet" not in README
    row = next(line for line in README.splitlines() if line.startswith("| `wallets/`"))
    assert "Wallets and prepaid billing" in row
    # and the wallets section comes after Denial work, then events and webhooks (issue 19),
    # then the commands
    headings = re.findall(r"^## (.+)$", README, flags=re.M)
    at = headings.index("Wallets and prepaid billing")
    assert headings[at - 1] == "Denial work"
    assert headings[at + 1] == "Events and webhooks"
    assert headings[at + 2] == "Commands"


def test_wallet_commands_in_the_readme_exist_and_are_in_the_commands_table():
    from django.core.management import get_commands

    wallets = _section("Wallets and prepaid billing")
    table = _section("Commands")
    for name in ("load_prepaid", "topup_wallet", "trigger_prepaid_run", "wallet_show"):
        assert get_commands().get(name) == "wallets", name
        assert f"manage.py {name} --tenant" in wallets, name
        assert f"| `{name} --tenant SLUG" in table, name


def test_wallet_api_and_screen_paths_in_the_readme_resolve():
    from django.urls import Resolver404, resolve

    wallets = _section("Wallets and prepaid billing")
    paths = set(re.findall(r"(/api/[\w/{}-]+|/wallets/[\w/<>-]*)", wallets))
    assert "/api/wallets/{id}/top-ups" in paths
    assert "/wallets/runs/<id>/" in paths
    for path in paths:
        concrete = re.sub(r"\{\w+\}|<\w+>", "1", path)
        try:
            resolve(concrete)
        except Resolver404:
            raise AssertionError(f"{path} does not resolve") from None


def test_demo_port_is_configurable_and_documented():
    serve = (ROOT / "scripts" / "serve.sh").read_text()
    assert "PORT=${PORT:-8000}" in serve
    assert "ADDR=${ADDR:-127.0.0.1:$PORT}" in serve
    assert "make demo PORT=8080" in README


def test_load_demo_prints_the_port_in_use(monkeypatch, db):
    # given the demo served on another port (the data loaders are not this test's subject)
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setattr(
        "core.management.commands.load_demo.load_demo",
        lambda stdout_write: Tenant(slug="demo", name="Demo"),
    )
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    assert "Sign in at http://127.0.0.1:8123/ as:" in text
    assert "Django admin (http://127.0.0.1:8123/admin/): demo-superuser (superuser)" in text
