"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import DomainError


def error_body(code: str, message: str, details=None) -> dict:
    """The error envelope."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _message(detail) -> str:
    if isinstance(detail, dict):
        first_key = next(iter(detail), None)
        if first_key is None:
            return "Invalid input."
        inner = detail[first_key]
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if isinstance(inner, dict):
            return f"{first_key}: {_message(inner)}"
        return f"{first_key}: {inner}" if first_key != "non_field_errors" else str(inner)
    if isinstance(detail, list):
        return _message(detail[0]) if detail else "Invalid input."
    return str(detail)


def exception_handler(exc, context):
    """Turn domain errors and DRF's own into the error envelope."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return Response(
            error_body("too_large", "The request body is too large (size or number of fields)."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = detail.code if hasattr(detail, "code") else exc.default_code
        response.data = error_body(str(code), str(detail))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
