"""Database sessions whose read is compiled once per process (issue 15).

Every signed-in page starts by reading its session row. Through the ORM that read
(cloning a queryset, resolving two lookups, compiling the SQL) cost more Python than the
database spent on it; here the statement is compiled once (crm_project.prepared) and run
with the key and the time. Everything else, and the rows themselves, are Django's own
database sessions: `SESSION_ENGINE = "crm_project.session_store"`.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from .prepared import Prepared

_LIVE_SESSION = Prepared(
    lambda *, session_key, now: Session.objects.filter(session_key=session_key, expire_date__gt=now),
    session_key=Session._meta.get_field("session_key"),
    now=Session._meta.get_field("expire_date"),
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        """The unexpired row of this key (as db.SessionStore reads it), else forget the key."""
        found = _LIVE_SESSION.objects(session_key=self.session_key, now=timezone.now())
        if found:
            return found[0]
        self._session_key = None
        return None
