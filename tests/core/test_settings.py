"""Production settings pass `check --deploy` (SPEC 11); logs are one JSON object per line."""

import io
import json
import logging
import os
import secrets
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from core.logging import JsonFormatter

BASE_DIR = Path(__file__).resolve().parents[2]


def _env(**overrides: str) -> dict[str, str]:
    # A bare environment, as a production host would have: nothing leaks in from the test run
    # (e.g. DJANGO_ALLOW_ASYNC_UNSAFE set by browser tests, which check --deploy rejects).
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    # .env (read with overwrite=False) says DEBUG=true: the process environment must win.
    env["DEBUG"] = "false"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env.update(overrides)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_settings_check_deploy_clean_with_production_env():
    # given production-like settings from the environment
    env = _env(
        SECRET_KEY=secrets.token_urlsafe(50),
        AUDIT_CHAIN_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="billing.example.org",
    )
    # when Django's deployment checks run / then nothing is reported, not even a warning
    result = _check_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_settings_refuse_to_start_without_secret_key():
    # given DEBUG off and no SECRET_KEY anywhere (.env does not define one)
    assert "\nSECRET_KEY=" not in "\n" + (BASE_DIR / ".env").read_text()
    env = _env(AUDIT_CHAIN_KEY=secrets.token_urlsafe(32), ALLOWED_HOSTS="billing.example.org")
    # when Django starts / then it stops with a message naming SECRET_KEY
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_settings_refuse_to_start_without_audit_chain_key():
    # given DEBUG off and no AUDIT_CHAIN_KEY / when Django starts / then it names the key
    env = _env(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="billing.example.org")
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "AUDIT_CHAIN_KEY" in result.stderr


def test_settings_check_deploy_flags_weak_secret_key():
    # given a short, guessable SECRET_KEY / when the deployment checks run / then they fail
    env = _env(
        SECRET_KEY="short",
        AUDIT_CHAIN_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="billing.example.org",
    )
    result = _check_deploy(env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


# --- JSON logs ----------------------------------------------------------------------------------


def _log_line(emit) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("healthbill.test_json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_json_formatter_emits_one_object_with_extra_fields():
    # when a message with extra fields is logged
    out = _log_line(
        lambda log: log.info(
            "run %s finished", 42, extra={"run_id": 42, "members": 1000, "event": "run_done"}
        )
    )
    # then one line holds one JSON object with the standard keys and the extras
    lines = out.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["level"] == "INFO"
    assert data["logger"] == "healthbill.test_json"
    assert data["msg"] == "run 42 finished"
    assert data["run_id"] == 42
    assert data["members"] == 1000
    assert data["event"] == "run_done"
    assert datetime.fromisoformat(data["ts"]).utcoffset().total_seconds() == 0
    # and none of logging's own record attributes leak in
    assert not {"args", "levelno", "pathname", "lineno", "msecs", "thread"} & set(data)


def test_json_formatter_includes_exception_and_serialises_unknown_types():
    # when an exception is logged with a non-JSON extra value
    def emit(log):
        try:
            raise ValueError("bad row 7")
        except ValueError:
            log.exception("batch failed", extra={"when": datetime(2026, 1, 2, 3, 4, 5)})

    data = json.loads(_log_line(emit))
    # then the traceback and the value (as text) are in the one object
    assert data["level"] == "ERROR"
    assert data["msg"] == "batch failed"
    assert "ValueError: bad row 7" in data["exc"]
    assert data["when"] == "2026-01-02 03:04:05"


def test_the_worker_logs_at_the_level_q_log_level_names():
    # django-q2 logs as "django-q": its per-task INFO lines stay off the log unless asked for
    import logging

    assert logging.getLogger("django-q").getEffectiveLevel() == logging.WARNING
    assert not logging.getLogger("django-q").isEnabledFor(logging.INFO)
