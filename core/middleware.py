"""Request ids, the API's error envelope outside views, and the tenant of each staff request."""

from __future__ import annotations

import logging
import re
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from core.actors import Actor
from core.api.errors import error_body
from core.api.parsers import unstorable_reason
from core.logging import request_id_var
from core.selectors import memberships_of

SESSION_TENANT = "tenant_id"


def _resolve(request) -> tuple:
    user = request.user
    if not user.is_authenticated:
        return [], None
    memberships = list(memberships_of(user))
    wanted = request.session.get(SESSION_TENANT)
    current = next((m for m in memberships if m.tenant_id == wanted), None)
    if current is None and memberships:  # the tenant the user joined first
        current = min(memberships, key=lambda m: (m.created_at, m.pk))
    return memberships, current


class TenantMiddleware:
    """Sets request.memberships, request.membership, request.tenant and request.actor (lazily)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cache: dict = {}

        def resolved():
            if "v" not in cache:
                cache["v"] = _resolve(request)
            return cache["v"]

        request.memberships = SimpleLazyObject(lambda: resolved()[0])
        request.membership = SimpleLazyObject(lambda: resolved()[1])
        request.tenant = SimpleLazyObject(lambda: resolved()[1].tenant if resolved()[1] else None)
        request.actor = SimpleLazyObject(
            lambda: Actor(tenant=resolved()[1].tenant, user=request.user) if resolved()[1] else None
        )
        request.has_tenant = lambda: resolved()[1] is not None
        if request.user.is_authenticated and request.has_tenant():
            try:
                timezone.activate(zoneinfo.ZoneInfo(request.tenant.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# --- request ids and API errors -----------------------------------------------------------------

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
REQUEST_ID_HEADER = "X-Request-ID"
API_PREFIX = "/api/"
_request_log = logging.getLogger("django.request")


def current_request_id(request=None) -> str | None:
    """The id of the request being served (also on every log line it writes)."""
    return getattr(request, "request_id", None) or request_id_var.get()


class RequestIdMiddleware:
    """Gives each request an id (a sane incoming X-Request-ID, else a new one) for logs and
    the response's X-Request-ID header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


def _is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


_STATUS_ERRORS = {
    400: ("bad_request", "The request could not be read."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("too_large", "The request body is too large."),
}


def api_error_response(request, status: int, code=None, message=None, details=None):
    """The API's error envelope for a failure no view answered (500s carry the request id)."""
    if status >= 500:
        code = code or "server_error"
        message = message or "Internal server error; quote the request id to support."
        details = {"request_id": current_request_id(request)}
    else:
        default_code, default_message = _STATUS_ERRORS.get(status, ("error", "Request failed."))
        code, message = code or default_code, message or default_message
    return JsonResponse(error_body(code, message, details), status=status)


def _unstorable_query(request):
    for name, values in request.GET.lists():
        for text in (name, *values):
            reason = unstorable_reason(text)
            if reason:
                shown = name.replace("\x00", "\\u0000")
                message = f"query parameter {shown}: {reason}"
                return api_error_response(request, 400, "invalid", message, {shown: [reason]})
    return None


class ApiErrorMiddleware:
    """Under /api/ every error is the JSON envelope: unhandled exceptions (500 with the request
    id, logged without PHI), oversized bodies (413), unknown paths (404), and text the database
    cannot store in the path or query string (400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _is_api(request):
            return self.get_response(request)
        refused = self._refuse(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            # Django's own pages (404 for unknown paths, 400/500 raised outside any view).
            replaced = api_error_response(request, response.status_code)
            replaced._has_been_logged = getattr(response, "_has_been_logged", False)
            for header in ("WWW-Authenticate", "Allow", "Retry-After"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    def _refuse(self, request):
        if unstorable_reason(request.path):
            return api_error_response(request, 400, "invalid", "The path holds a NUL character.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return api_error_response(request, 400, "bad_request", "Invalid Content-Length.")
        multipart = request.content_type.startswith("multipart/")
        if limit is not None and not multipart and length > limit:
            return api_error_response(request, 413, message=f"The body exceeds {limit} bytes.")
        try:
            return _unstorable_query(request)
        except TooManyFieldsSent:
            return api_error_response(request, 413, message="Too many query parameters.")

    def process_exception(self, request, exception):
        if not _is_api(request):
            return None
        if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
            return api_error_response(request, 413)
        if isinstance(exception, Http404):
            return api_error_response(request, 404)
        if isinstance(exception, PermissionDenied):
            return api_error_response(request, 403)
        if isinstance(exception, SuspiciousOperation):
            return api_error_response(request, 400)
        _request_log.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        response = api_error_response(request, 500)
        response._has_been_logged = True
        return response
