"""A signed-in session's absolute lifetime (its idle timeout is the session cookie's age).

`SESSION_SAVE_EVERY_REQUEST` with `SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_SECONDS` moves a
session's expiry forward on each request, so it ends after that long idle; this middleware ends
it `SESSION_ABSOLUTE_LIFETIME_SECONDS` after sign-in however busy it is.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils import timezone

SESSION_SIGNED_IN_AT = "signed_in_at"


class SessionLifetimeMiddleware:
    """Signs a session out once it is older than the absolute lifetime."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            started = request.session.get(SESSION_SIGNED_IN_AT)
            if started is None:
                request.session[SESSION_SIGNED_IN_AT] = now
            elif now - started >= settings.SESSION_ABSOLUTE_LIFETIME_SECONDS:
                logout(request)
                hours = settings.SESSION_ABSOLUTE_LIFETIME_SECONDS / 3600
                messages.info(
                    request,
                    f"Your session ended {hours:g} hours after you signed in: sign in again.",
                )
        return self.get_response(request)
