"""Sending one e-mail of a stored message row (campaign step, survey link) at most once,
with bounded retries of failures that happened before the mail server took it.

What counts as sent: the SMTP server accepted the message (sendmail returned). The row
is claimed (status "sending") and committed before the send, and marked sent right
after the server's acceptance, before the connection is closed: an error while closing
(QUIT) is logged, never retried, so a message the server accepted is never sent again.
A failure before acceptance is retried when it is transient (connection refused or lost,
timeouts, 4xx replies), up to MAX_ATTEMPTS with an exponential backoff; anything else
(5xx, no address) fails at once. A worker killed between claim and mark leaves the row
"sending": it is not retried (it may have gone out), and the admin shows it.
"""

import logging
import smtplib
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)
TRANSIENT = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    ConnectionError,
    TimeoutError,
)


def is_transient(error: BaseException) -> bool:
    """Whether trying again later may succeed."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, TRANSIENT) or (isinstance(error, OSError) and not isinstance(error, FileNotFoundError))


def backoff(attempts: int) -> timedelta:
    """The wait before try number attempts + 1: 10 min, 20, 40, ... at most 6 h."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def message_id(kind: str, pk: int, domain: str) -> str:
    """A Message-ID fixed by the row: the same message keeps one id whoever sends it, so a
    copy delivered twice by a relay is recognisably the same message."""
    return f"<{kind}-{pk}@{domain}>"


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def send_accepted(email, connection) -> None:
    """Send `email` through `connection`; returns once the server accepted it, raises if it
    did not. Closing the connection afterwards cannot raise."""
    opened = connection.open()
    try:
        if not connection.send_messages([email]):
            raise smtplib.SMTPException(gettext("The mail backend did not send the message."))
    except BaseException:
        if opened:
            _close_quietly(connection)
        raise
    if opened:
        _close_quietly(connection)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception as error:  # noqa: BLE001 - the message was accepted; a failed QUIT changes nothing
        logger.warning("mail connection close failed after acceptance: %s", type(error).__name__)
