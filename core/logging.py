"""Structured logs: one JSON object per line. Callers pass ids and counts, never PHI.

Every handler in settings.LOGGING carries two filters from here: `RequestIdFilter` stamps the
current request's id on each record, and `PhiFilter` drops what can carry PHI even when a caller
(or Django, django-q2, psycopg) puts it there: exception values (the traceback keeps its frames
and the exception type), database error detail and COPY context, query strings, request objects
and any exception passed as an argument.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import traceback
from datetime import UTC, datetime

from django.http import HttpRequest

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

WITHHELD = "[withheld]"
# psycopg / PostgreSQL detail lines carry the row (Key (...)=(...), COPY ... column data: "{...}").
_DB_DETAIL = re.compile(r"\s*\b(DETAIL|CONTEXT|HINT|LINE \d+|QUERY|WHERE):.*", re.DOTALL)
# First lines of database errors that quote the offending value.
_DB_VALUE = re.compile(
    r"(invalid input syntax for type [\w ]+: |value |invalid input value for enum [\w.]+: "
    r'|invalid byte sequence for encoding "[\w-]+": |out of range: )"[^"]*"'
)
# A path or URL followed by a query string: keep the path, drop the query.
_QUERY = re.compile(r"((?:https?://[^\s\"'?]*)|(?:/[^\s\"'?]*))\?[^\s\"'<>]*")
_TRACEBACK = "Traceback (most recent call last):"
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt|Violation))\b")
_DJANGO_Q_FAILED = re.compile(r"^(Failed '[^']*' \([^)]*\)) - ", re.DOTALL)


def scrub_text(text: str) -> str:
    """The text without query strings, database detail lines and quoted database values."""
    if _TRACEBACK in text or _DJANGO_Q_FAILED.match(text):
        text = _scrub_embedded_traceback(text)
    text = _DB_DETAIL.sub(" " + WITHHELD, text) if _DB_DETAIL.search(text) else text
    text = _DB_VALUE.sub(lambda m: m.group(1) + '"' + WITHHELD + '"', text)
    return _QUERY.sub(lambda m: m.group(1) + "?" + WITHHELD, text)


def _scrub_embedded_traceback(text: str) -> str:
    """A message that quotes an exception (django-q2's "Failed ... - <error> : <traceback>")."""
    types = [m.group(1) for line in text.splitlines() if (m := _EXC_LINE.match(line))]
    kind = types[-1] if types else "exception"
    failed = _DJANGO_Q_FAILED.match(text)
    if failed:
        return f"{failed.group(1)} - {kind} {WITHHELD}"
    head = text.split(_TRACEBACK, 1)[0].rstrip(" :\n")
    first = head.splitlines()[0] if head else ""
    return f"{first[:120]} ({kind} {WITHHELD})".strip()


def _exception_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def format_exception_safely(exc: BaseException) -> str:
    """A traceback with its frames and exception types, without exception values (chained too)."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception:"
        else:
            current = None
    parts: list[str] = []
    for error, following in reversed(chain):
        if error.__traceback__ is not None:
            parts.append(_TRACEBACK + "\n" + "".join(traceback.format_tb(error.__traceback__)))
        parts.append(f"{_exception_name(error)}: {WITHHELD}\n")
        if following:
            parts.append("\n" + following + "\n\n")
    return "".join(parts).rstrip("\n")


def _safe_value(value, nested: bool = False):
    """A value fit for a log line. Inside dicts and lists (a row, a payload) only numbers survive:
    ids and codes go in top-level fields."""
    if nested and isinstance(value, str):
        return WITHHELD
    if isinstance(value, BaseException):
        return _exception_name(value)
    if isinstance(value, HttpRequest):
        return f"{value.method} {value.path}"
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {scrub_text(str(k)): _safe_value(v, True) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_safe_value(v, True) for v in value]
    return WITHHELD if nested else scrub_text(str(value))


class PhiFilter(logging.Filter):
    """Rewrites every record so that no exception value, query string or row detail survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_phi_scrubbed", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = str(record.msg)
        if record.args:
            # Format with scrubbed arguments: an exception or request among them becomes its name.
            args = record.args
            safe_args = (
                {k: _safe_value(v) for k, v in args.items()}
                if isinstance(args, dict)
                else tuple(_safe_value(a) for a in args)
            )
            try:
                message = str(record.msg) % safe_args
            except Exception:
                message = scrub_text(message)
        record.msg = scrub_text(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception_safely(record.exc_info[1])
        elif record.exc_text:
            record.exc_text = scrub_text(record.exc_text)
        record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_"):
                setattr(record, key, _safe_value(value))
        record._phi_scrubbed = True
        return True


class RequestIdFilter(logging.Filter):
    """Stamps `request_id` (the current request's, see core.middleware) on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            # django.request logs 4xx after the middleware chain has returned: use its request.
            from_request = getattr(getattr(record, "request", None), "request_id", None)
            record.request_id = request_id_var.get() or from_request
        return True


class JsonFormatter(logging.Formatter):
    """Formats a record and its `extra=` fields as a JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, default=str)
