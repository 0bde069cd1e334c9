"""`Idempotency-Key` on every POST (SPEC 2).

Same key and body -> the stored first response; same key, other body -> 422; same key while
the first request still runs -> 409. Keys are scoped per token or user and kept 24 hours.
Only 2xx and 4xx responses are stored; a 5xx, an exception in the handler or one raised while
rendering releases the key, so the client's retry runs afresh. JSON bodies are compared on their
canonical form (keys sorted, whitespace ignored).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from core.api.errors import error_body
from core.models import ApiToken, IdempotencyKey

HEADER = "Idempotency-Key"

logger = logging.getLogger(__name__)


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
        digest.update(_canonical_body(request))
    return digest.hexdigest()


def _canonical_body(request) -> bytes:
    """A JSON body in canonical form (sorted keys, no insignificant whitespace); others raw."""
    body = request.body
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return body
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON after all: the raw bytes decide
        return body
    canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"json:" + canonical.encode("utf-8", "surrogatepass")


def _stored(status_code: int) -> bool:
    return 200 <= status_code < 300 or 400 <= status_code < 500


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

    def dispatch(self, request, *args, **kwargs):
        try:
            response = super().dispatch(request, *args, **kwargs)
            if self._idem_record is not None and callable(getattr(response, "render", None)):
                # Render now: a failure while rendering must release the key like any other.
                response = response.render()
        except BaseException:
            self._idem_release()
            raise
        self._idem_settle(response)
        return response

    def _idem_release(self) -> None:
        """Forget the claimed key so the client's retry runs (after a 5xx or an exception)."""
        record, self._idem_record = self._idem_record, None
        if record is None:
            return
        try:
            IdempotencyKey.objects.filter(pk=record.pk).delete()
        except Exception:  # the original failure matters more; the key expires anyway
            logger.warning("idempotency_key_release_failed key_id=%s", record.pk)

    def _idem_settle(self, response) -> None:
        """Store a 2xx or 4xx response for replay; release the key for anything else."""
        record = self._idem_record
        if record is None:
            return
        if not _stored(response.status_code) or not hasattr(response, "data"):
            self._idem_release()
            return
        try:
            body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            IdempotencyKey.objects.filter(pk=record.pk).update(
                status=IdempotencyKey.Status.DONE,
                response_status=response.status_code,
                response_body=body,
            )
        except Exception:
            # The client has its answer; an unstorable one must not block the key for a day.
            self._idem_release()
            return
        self._idem_record = None
