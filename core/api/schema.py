"""The OpenAPI schema says what each operation can answer, errors included.

drf-spectacular documents only the success response. Every operation of this API can also
answer with the error envelope (`core.api.errors.error_body`); which statuses depends on the
operation's shape, so they are derived here rather than repeated on every view:

- 400 any operation (malformed body, query or header values; refused input);
- 401/403 operations that need authentication (all but the schema itself);
- 404 operations with a path parameter or a body (no such object in the caller's tenant);
- 405 never documented: it is for methods the schema does not list;
- 409 writes (state conflicts, an Idempotency-Key still in flight);
- 413 and 415 operations with a request body (too large; a media type no parser takes, or a
  multipart body too malformed to read its type);
- 422 POSTs (an Idempotency-Key reused with another body);
- 429 and 500 every operation.

POSTs also document the optional `Idempotency-Key` header they all accept. Request bodies are
documented as JSON where the view parses JSON: partner systems send JSON, and form encodings
cannot express the nulls, nesting and types the serializers declare.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from core.api.idempotency import IdempotentMixin
from core.months import month_expected, month_pattern

IDEMPOTENCY_KEY_MAX_LENGTH = 255
# A character Python's str.strip() keeps (what DRF's trim leaves): `\S` reads differently in
# ECMA and Python regexes (\x1c-\x1f, \x85), so the whitespace set is spelled out.
NOT_BLANK_PATTERN = (
    r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `error.details` names the fields and what was expected.",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Authenticated, but not a member of the tenant or lacking the scope this needs.",
    "404": "No such object in the caller's tenant.",
    "409": "Conflicts with the current state (or the same Idempotency-Key is still in flight).",
    "413": "Request body too large.",
    "415": "The request body's media type is not one this operation takes.",
    "422": "Idempotency-Key already used with a different request body.",
    "429": "Too many requests; retry later.",
    "500": "Server error; `error` carries a request id support can look up.",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `invalid`.")
    message = serializers.CharField(help_text="What went wrong, in one sentence.")
    details = serializers.JSONField(
        help_text="Field errors (`{field: [messages]}`) or other context; may be empty."
    )


class ErrorSerializer(serializers.Serializer):
    """The error envelope every API error uses."""

    error = ErrorDetailSerializer()

    class Meta:
        ref_name = "Error"


def _error_response(code: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS.get(code, ""))


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error responses and headers of this API."""

    def _error_codes(self) -> list[str]:
        codes = ["400"]
        if self.get_auth():
            codes += ["401", "403"]
        if "{" in self.path or self.method in ("POST", "PUT", "PATCH"):
            codes.append("404")  # the path's object, or an object the body refers to
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes.append("409")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if self.method == "POST" and isinstance(self.view, IdempotentMixin):
            codes.append("422")
        return [*codes, "429", "500"]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            responses.setdefault(code, _error_response(code))
        for code, response in list(responses.items()):
            if isinstance(response, OpenApiResponse):
                responses[code] = self._get_response_for_code(response, code, direction=direction)
            elif code >= "400" and "content" not in response:
                # a view documented an error status without a body: it is still the envelope
                filled = self._get_response_for_code(_error_response(code), code)
                responses[code] = {**filled, "description": response.get("description") or ""}
        return responses

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular documents every PATCH body as partial (all fields optional); a view
        # whose PATCH validates the whole body says so with `patch_is_partial = False`
        if self.method == "PATCH" and getattr(self.view, "patch_is_partial", True) is False:
            self.method = "PUT"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # a body whose fields are each optional but not all at once (a batch: a file or records)
        # is still required: the view says so with `request_body_required = True`
        return schema, required or getattr(self.view, "request_body_required", False)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # drf-spectacular leaves out that a list, or an uploaded file, may not be empty
        if getattr(field, "allow_empty", True) is False and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        if isinstance(field, serializers.FileField) and not field.allow_empty_file:
            schema.setdefault("minLength", 1)
        # a text field that may not be blank is trimmed first: whitespace alone is blank
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not field.allow_blank
            and field.trim_whitespace
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & schema.keys()
        ):
            schema["pattern"] = NOT_BLANK_PATTERN
        return schema

    def map_parsers(self):
        media_types = super().map_parsers()
        return ["application/json"] if "application/json" in media_types else media_types

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method == "POST" and isinstance(self.view, IdempotentMixin):
            params.append(
                OpenApiParameter(
                    IDEMPOTENCY_HEADER,
                    {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Repeat a POST safely: the first response is stored for 24 hours "
                    "and replayed to a retry with the same key and body.",
                )
            )
        return params


def month_schema() -> dict:
    """A billing month as the API takes it: `YYYY-MM` within the accepted years."""
    return {
        "type": "string",
        "pattern": month_pattern(),
        "example": "2026-11",
        "description": month_expected().replace("expected ", "", 1),
    }


class MonthFieldExtension(OpenApiSerializerFieldExtension):
    """MonthField's schema, computed per schema generation (the accepted years move)."""

    target_class = "core.api.fields.MonthField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return month_schema()
