"""Standard Webhooks messages: the secret, the body and the signed headers."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

import orjson
from standardwebhooks import Webhook

from core.webhooks.limits import USER_AGENT

SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    """A fresh signing secret: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def test_message_id() -> str:
    """The `webhook-id` of a test message (no event behind it)."""
    return f"msg_{uuid.uuid4().hex}"


def body_bytes(envelope: dict) -> bytes:
    """The request body: compact JSON, keys sorted (what is signed is what is sent)."""
    return orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)


def signers(secrets_in_force: list[str]) -> list[Webhook]:
    """One signer per secret (decoding a secret once serves a whole batch of messages)."""
    return [Webhook(secret) for secret in secrets_in_force]


def signature_header(
    *,
    secrets_in_force: list[str] | None = None,
    msg_id: str,
    timestamp: datetime,
    body: bytes,
    signed_by: list[Webhook] | None = None,
) -> str:
    """`v1,<sig>` per secret, space separated (the new secret first, then the old one)."""
    if signed_by is None:
        signed_by = signers(secrets_in_force or [])
    return " ".join(s.sign(msg_id=msg_id, timestamp=timestamp, data=body) for s in signed_by)


def signed_headers(
    *,
    secrets_in_force: list[str] | None = None,
    msg_id: str,
    timestamp: datetime,
    body: bytes,
    signed_by: list[Webhook] | None = None,
) -> dict[str, str]:
    """The headers of one message (Standard Webhooks + content type and user agent)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_in_force=secrets_in_force,
            msg_id=msg_id,
            timestamp=timestamp,
            body=body,
            signed_by=signed_by,
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
