"""A mail backend for tests/reliability/test_survey_mail_kill.py: a server that takes
messages (one JSON line each in $CRM_MAIL_FILE: recipient and body) until message number
$CRM_KILL_AT is handed to it, then SIGKILLs its own process, as a worker killed while the
server has that message: no except clause, no finally, no commit runs."""

import json
import os
import signal

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    handed = 0

    def send_messages(self, messages):
        for message in messages:
            EmailBackend.handed += 1
            if EmailBackend.handed >= int(os.environ["CRM_KILL_AT"]):
                os.kill(os.getpid(), signal.SIGKILL)
            with open(os.environ["CRM_MAIL_FILE"], "a", encoding="utf-8") as taken:
                taken.write(json.dumps({"to": message.to[0], "body": message.body}) + "\n")
        return len(messages)
