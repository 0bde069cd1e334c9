"""Request-rate limits (DRF throttles) on the token endpoints and on sign-in, rates from settings.

Counts live in the default cache: with one cache per process (the local-memory default) each
process counts on its own; point CACHES at a shared cache to count across processes.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class SettingRateThrottle(SimpleRateThrottle):
    """A throttle whose rate is the Django setting named by `rate_setting` (read per request)."""

    rate_setting = ""

    def get_ident(self, request) -> str:
        from core.lockout import client_address

        return client_address(request) or "unknown"

    def get_rate(self) -> str | None:
        return getattr(settings, self.rate_setting, None) or None


class ApiTokenThrottle(SettingRateThrottle):
    """Calls to the API token endpoints, per user (per address before sign-in)."""

    scope = "api-tokens"
    rate_setting = "API_TOKEN_RATE"

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else None
        return self.cache_format % {"scope": self.scope, "ident": ident or self.get_ident(request)}


class SignInThrottle(SettingRateThrottle):
    """Sign-in form submissions, per address (a lockout also applies per username)."""

    scope = "sign-in"
    rate_setting = "LOGIN_RATE"

    def get_cache_key(self, request, view) -> str | None:
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
