from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LoginSession(models.Model):
    """Which user a stored session belongs to (written at login), so that logging out or
    disabling an account can end that user's sessions on every device with one delete:
    Django's session rows hold the user id only inside their encoded data. The row goes
    with its session (expiry, clearsessions, logout) through the cascade."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, primary_key=True, verbose_name=_("session"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions", verbose_name=_("user")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"
