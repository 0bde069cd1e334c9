"""`Idempotency-Key` on every POST (SPEC 2).

Same key and body -> the stored first response; same key, other body -> 422; same key while
the first request still runs -> 409. Keys are scoped per token or user and kept 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from core.api.errors import error_body
from core.models import ApiToken, IdempotencyKey

HEADER = "Idempotency-Key"


class _Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _owner(request) -> str:
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _request_hash(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    if (request.content_type or "").startswith("multipart/"):
        # Uploads may exceed the in-memory body limit: hash the parsed fields and file contents.
        for name in sorted(request.data.keys()):
            for value in request.data.getlist(name):
                digest.update(name.encode() + b"=")
                if hasattr(value, "chunks"):
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                else:
                    digest.update(str(value).encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def idempotency_keys_purge() -> int:
    """Forget keys older than the retention window."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotentMixin:
    """Mixed into every API view: claims the key before the handler, stores its response after."""

    _idem_record: IdempotencyKey | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get(HEADER)
        if request.method != "POST" or not key:
            return
        if len(key) > 255:
            raise _Replay(
                Response(
                    error_body("invalid", "Idempotency-Key: at most 255 characters."), status=400
                )
            )
        owner, body_hash = _owner(request), _request_hash(request)
        cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
        IdempotencyKey.objects.filter(owner=owner, key=key, created_at__lt=cutoff).delete()
        try:
            with transaction.atomic():
                self._idem_record = IdempotencyKey.objects.create(
                    tenant=request.actor.tenant, owner=owner, key=key, request_hash=body_hash
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
            if existing is None:  # removed meanwhile (a failed first attempt): ask to retry
                raise _Replay(self._conflict()) from None
            if existing.request_hash != body_hash:
                raise _Replay(
                    Response(
                        error_body(
                            "idempotency_key_reused",
                            "This Idempotency-Key was already used with a different request body.",
                        ),
                        status=422,
                    )
                ) from None
            if existing.status == IdempotencyKey.Status.IN_FLIGHT:
                raise _Replay(self._conflict()) from None
            replay = Response(existing.response_body, status=existing.response_status)
            replay["Idempotent-Replayed"] = "true"
            raise _Replay(replay) from None

    @staticmethod
    def _conflict() -> Response:
        return Response(
            error_body(
                "idempotency_key_in_flight",
                "A request with this Idempotency-Key is still being processed; retry later.",
            ),
            status=409,
        )

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record, self._idem_record = self._idem_record, None
        if record is None:
            return response
        if response.status_code >= 500 or not hasattr(response, "data"):
            IdempotencyKey.objects.filter(pk=record.pk).delete()
            return response
        body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
        IdempotencyKey.objects.filter(pk=record.pk).update(
            status=IdempotencyKey.Status.DONE,
            response_status=response.status_code,
            response_body=body,
        )
        return response
