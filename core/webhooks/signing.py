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


def signature_header(
    *, secrets_in_force: list[str], msg_id: str, timestamp: datetime, body: bytes
) -> str:
    """`v1,<sig>` per secret, space separated (the new secret first, then the old one)."""
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)
        for secret in secrets_in_force
    )


def signed_headers(
    *, secrets_in_force: list[str], msg_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    """The headers of one message (Standard Webhooks + content type and user agent)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_in_force=secrets_in_force, msg_id=msg_id, timestamp=timestamp, body=body
        ),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
