"""Password reset by e-mail (Django's views) that tells nobody whether an address is
known (SEC-13, ASVS 6.3.8): a known and an unknown address get the same page, after the
same minimum time, and are rate-limited alike (per client address and per e-mail
address, counted in the cache) so the form is no oracle and no mail cannon."""

import hashlib
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.shortcuts import render
from django.urls import reverse_lazy

# Each answer takes at least this long, so that sending (or not) a message cannot be timed.
MIN_SECONDS = getattr(settings, "PASSWORD_RESET_MIN_SECONDS", 0.5)
WINDOW_SECONDS = 60 * 60
PER_CLIENT = 10  # requests per hour from one client address
PER_EMAIL = 3  # requests per hour for one e-mail address, known or not


def _over_limit(key: str, limit: int) -> bool:
    cache.add(key, 0, WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS)
        count = 1
    return count > limit


def reset_allowed(*, client_address: str, email: str) -> bool:
    """Counts this request; False once either limit of the hour is passed."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    by_client = _over_limit(f"password-reset:client:{client_address}", PER_CLIENT)
    by_email = _over_limit(f"password-reset:email:{digest}", PER_EMAIL)
    return not (by_client or by_email)


class PasswordResetView(auth_views.PasswordResetView):
    success_url = reverse_lazy("password_reset_done")

    def post(self, request, *args, **kwargs):
        started = time.monotonic()
        email = request.POST.get("email", "")
        if not reset_allowed(client_address=request.META.get("REMOTE_ADDR", ""), email=email):
            response = render(request, "registration/password_reset_limited.html", status=429)
        else:
            response = super().post(request, *args, **kwargs)
        # the answer leaves after MIN_SECONDS whatever happened above
        time.sleep(max(0.0, MIN_SECONDS - (time.monotonic() - started)))
        return response
