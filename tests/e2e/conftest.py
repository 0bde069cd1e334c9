"""Browser tests: Playwright driving Debian's Chromium (browsers cannot be downloaded here)."""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


@pytest.fixture(scope="session")
def browser():
    path = _chromium()
    if path is None:
        pytest.skip("Chromium not found: install Debian's 'chromium' package (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a pinned dev dependency
        pytest.skip("playwright is not installed")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the
    # test body are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Uploaded and generated files of a browser test land in its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_shared_sqlite():
    """On in-memory SQLite the live server's request threads share the test's one connection.

    Two requests at once on it (a form POST and the favicon Chromium fetches beside it, each
    saving the session) interleave their savepoints: one fails, the connection is left in a
    broken transaction and every later browser test fails with it. Serving one request at a
    time, in the server thread that already holds the shared connection, removes the race. On
    PostgreSQL (or a file database) each thread has its own connection and stays threaded.
    """
    from django.conf import settings
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread

    db = settings.DATABASES["default"]
    if not (db["ENGINE"].endswith("sqlite3") and not db.get("TEST", {}).get("NAME")):
        yield
        return

    class SerialWSGIServer(WSGIServer):
        # the server thread set its connections to the shared ones before serving
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    threaded = LiveServerThread.server_class
    LiveServerThread.server_class = SerialWSGIServer
    yield
    LiveServerThread.server_class = threaded
