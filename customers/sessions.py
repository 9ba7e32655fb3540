"""Every session of a user, on every device: recorded at login, ended together (SEC-08,
ASVS 7.4.1/7.4.2). Logging out anywhere, or an account disabled (is_active=False, by a
save or the admin's actions), deletes all of that user's session rows, so each device's
next request goes to the login page."""

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.db.models.signals import post_save

from crm_project.session_renewal import mark_renewed

from .models import LoginSession

# the session stores that keep a row per session (ours reads Django's rows faster)
DB_SESSIONS = ("django.contrib.sessions.backends.db", "crm_project.session_store")


def session_record(*, user, session_key: str) -> None:
    if settings.SESSION_ENGINE not in DB_SESSIONS or not session_key:
        return  # another session store keeps no rows to map
    LoginSession.objects.update_or_create(session_id=session_key, defaults={"user": user})


def sessions_end(*, user_ids) -> int:
    """Delete every stored session of these users (their LoginSession rows cascade).
    Returns how many sessions ended."""
    deleted, per_model = Session.objects.filter(loginsession__user_id__in=list(user_ids)).delete()
    return per_model.get("sessions.Session", 0)


def _on_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None:
        mark_renewed(session)
        if session.session_key is None:
            session.save()
        session_record(user=user, session_key=session.session_key)


def _on_session_created(sender, instance, created, **kwargs):
    # A session re-keyed while logged in (update_session_auth_hash after a password
    # change) is a new row that already holds the user: map it too.
    if created:
        user_id = instance.get_decoded().get(SESSION_KEY)
        if user_id is not None:
            LoginSession.objects.update_or_create(session_id=instance.pk, defaults={"user_id": user_id})


def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        sessions_end(user_ids=[user.pk])


def _on_user_saved(sender, instance, created, **kwargs):
    if not created and not instance.is_active:
        sessions_end(user_ids=[instance.pk])


def connect() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="customers.sessions.login")
    user_logged_out.connect(_on_logout, dispatch_uid="customers.sessions.logout")
    post_save.connect(_on_session_created, sender=Session, dispatch_uid="customers.sessions.rekeyed")
    post_save.connect(_on_user_saved, sender=get_user_model(), dispatch_uid="customers.sessions.disabled")
