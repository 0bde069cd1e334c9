"""Request parsers for the whole API: bounded JSON, and no text the database cannot store.

JSON bodies are limited in size (settings.API_JSON_MAX_BYTES, 413) and nesting depth
(API_JSON_MAX_DEPTH levels, 400). In JSON, form and multipart bodies alike, a string holding a
NUL character or a lone UTF-16 surrogate (PostgreSQL stores neither; SQLite would, so the two
databases would answer differently) is refused with a 400 that names the field's path, e.g.
`records[3].data.first_name`.
"""

from __future__ import annotations

import re
from io import BytesIO

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SPECIAL = re.compile(r'[.\[\]"]')


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "too_large"


class UnstorableText(exceptions.ValidationError):
    """A 400 for text the database cannot store (an API-wide rule the schema's description
    states, which OpenAPI 3.0 cannot express on field names)."""


def unstorable_reason(text: str) -> str | None:
    """Why the text cannot be stored (NUL, lone surrogate), or None when it can."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "the NUL character (\\u0000) is not allowed in text."
    return "invalid Unicode (a lone surrogate) is not allowed in text."


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    shown = UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(key))
    segment = f'["{shown}"]' if _SPECIAL.search(shown) else shown
    if segment.startswith("["):
        return f"{path}{segment}"
    return f"{path}.{segment}" if path else segment


def check_json(data, *, max_depth: int) -> None:
    """Refuse nesting deeper than max_depth and text the database cannot store, by field path."""
    stack: list[tuple[object, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise exceptions.ParseError(
                    f"JSON nested deeper than {max_depth} levels (at {path or 'the top'})."
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                here = _join(path, key)
                if isinstance(key, str) and (reason := unstorable_reason(key)):
                    raise UnstorableText({here: [f"field name: {reason}"]})
                stack.append((item, here, depth + 1))
        elif isinstance(value, str) and (reason := unstorable_reason(value)):
            raise UnstorableText({path or "body": [reason]})


def check_form(data, files=None) -> None:
    """Refuse form fields (names, values, file names) the database cannot store."""
    for name, values in data.lists():
        for value in values:
            for text in (name, value):
                if isinstance(text, str) and (reason := unstorable_reason(text)):
                    raise UnstorableText({_join("", name): [reason]})
    for name, uploads in files.lists() if files is not None else []:
        for upload in uploads:
            reason = unstorable_reason(name) or unstorable_reason(upload.name or "")
            if reason:
                raise UnstorableText({_join("", name): [f"file name: {reason}"]})


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a size and depth bound and the unstorable-text check."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_JSON_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The JSON body is larger than {limit} bytes.")
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - the body is not {encoding}.") from exc
        max_depth = settings.API_JSON_MAX_DEPTH
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError as exc:
            raise exceptions.ParseError(f"JSON nested deeper than {max_depth} levels.") from exc
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc
        check_json(data, max_depth=max_depth)
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser, bounded like Django's own and with the unstorable-text check."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise PayloadTooLarge(f"The form body is larger than {limit} bytes.")
            stream = BytesIO(raw)
        data = super().parse(stream, media_type, parser_context)
        check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser with the unstorable-text check on field and file names."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        check_form(result.data, result.files)
        return result
