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


def test_unbuilt_apps_are_marked_in_the_readme():
    row = next(line for line in README.splitlines() if line.startswith("| `wallets/`"))
    assert "not built yet" in row
    assert "*not built yet:* wallets.run.trigger, wallets.topup" in README


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
