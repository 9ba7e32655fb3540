"""A request id on every request, and one security log record per refused object.

ASVS 16.3.2: a request for a record the user may not see (the 404 of the access rules)
or an action they may not take (403) is logged with the UTC time, the user id, the
view, the object ids from the URL and the request id. Never names, e-mails or other
fields of the record: the URL's ids and the route are all it reads.
"""

import logging
import time
import uuid

logger = logging.getLogger("crm.security")


def _escaped(text: str) -> str:
    # A path is attacker-chosen: keep one record on one line.
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class UTCFormatter(logging.Formatter):
    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class SecurityLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if response.status_code in (403, 404) and match is not None and match.kwargs and user is not None:
            if user.is_authenticated:
                logger.warning(
                    "access denied status=%s user_id=%s view=%s object=%s path=%s request_id=%s",
                    response.status_code,
                    user.pk,
                    match.view_name,
                    _escaped(",".join(f"{key}={value}" for key, value in sorted(match.kwargs.items()))),
                    _escaped(request.path),
                    request.request_id,
                )
        return response
