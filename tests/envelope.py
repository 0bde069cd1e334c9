"""The API's one error shape, checked the same way by every test that expects an error."""

from __future__ import annotations


def error_envelope(response, status: int) -> dict:
    """Assert the status and `{"error": {"code", "message", "details"}}`; return the inner dict."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]
