"""/health/: whether this web node can serve, for a load balancer and for monitoring.

Public and cheap. It says only "ok" or "unavailable" per component: no host names, no
versions, no error text, no personal data (those go to the server log). The status code
(200 or 503) follows the database alone, which every page needs. The cache and the
workers live in Redis, whose outage pages survive (actions that enqueue say "try
again"): reporting them without failing the probe keeps a Redis blink from taking every
web node out of rotation at once.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

OK, UNAVAILABLE = "ok", "unavailable"
# A worker ping is a broadcast that waits for replies: do it at most this often.
WORKERS_CHECK_SECONDS = 30
WORKERS_PING_TIMEOUT = 1.0


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "cannot serve"; the log keeps the reason
        logger.exception("health: database unavailable")
        return UNAVAILABLE
    return OK


def check_cache() -> str:
    try:
        cache.set("health:probe", "1", timeout=10)
        if cache.get("health:probe") != "1":
            raise RuntimeError("cache did not return what was stored")
    except Exception:
        logger.exception("health: cache unavailable")
        return UNAVAILABLE
    return OK


def ping_workers() -> bool:
    from crm_project.celery import app

    return bool(app.control.ping(timeout=WORKERS_PING_TIMEOUT))


def check_workers() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return OK  # tasks run in-process: the web node is its own worker
    try:
        cached = cache.get("health:workers")
    except Exception:
        cached = None
    if cached is not None:
        return cached
    try:
        state = OK if ping_workers() else UNAVAILABLE
    except Exception:
        logger.exception("health: broker unavailable")
        state = UNAVAILABLE
    try:
        cache.set("health:workers", state, timeout=WORKERS_CHECK_SECONDS)
    except Exception:  # the cache check reports it
        logger.debug("health: worker state not cached")
    return state


@never_cache
@require_safe
def health(request):
    checks = {"database": check_database(), "cache": check_cache(), "workers": check_workers()}
    serving = checks["database"] == OK
    return JsonResponse({"status": OK if serving else UNAVAILABLE, "checks": checks}, status=200 if serving else 503)
