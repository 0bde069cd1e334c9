"""Errors raised by services; the API and screens turn them into one error format."""

from typing import Any


class DomainError(Exception):
    """A refusal a user should read: code, plain message, optional details."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details if details is not None else {}


class ScopeDenied(DomainError):
    """The actor lacks the scope the action needs."""

    code = "permission_denied"
    http_status = 403


class NotFound(DomainError):
    """No such object in the actor's tenant (another tenant's ids look the same)."""

    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    """The action collides with the current state of things."""

    code = "conflict"
    http_status = 409


class TransitionRefused(Conflict):
    """The state machine does not allow this transition from the current state."""

    code = "transition_not_allowed"
