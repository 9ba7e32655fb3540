"""Idle sessions end SESSION_COOKIE_AGE after the last request, without writing the
session row on every page (Django's SESSION_SAVE_EVERY_REQUEST costs an UPDATE and a
commit per request). A signed-in session is saved again only when its last renewal is
older than SESSION_RENEW_SECONDS, so it expires between that and SESSION_COOKIE_AGE
after the last request: a minute early at most, never late."""

from django.conf import settings
from django.utils import timezone

RENEWED_AT = "_renewed_at"


def renewal_due(session, now: float) -> bool:
    return now - session.get(RENEWED_AT, 0) >= settings.SESSION_RENEW_SECONDS


def mark_renewed(session) -> None:
    """Called at login, which saves the session anyway: the next pages need not."""
    session[RENEWED_AT] = timezone.now().timestamp()


class SessionRenewalMiddleware:
    """After SessionMiddleware and AuthenticationMiddleware: marks the session modified
    (so SessionMiddleware saves it, with a new expiry) when a renewal is due."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            if renewal_due(request.session, now):
                request.session[RENEWED_AT] = now
        return response
