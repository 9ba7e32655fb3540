"""Handing work to the worker. When the broker (Redis) cannot be reached the action
says "try again" instead of failing with a 500, and nothing is half-queued."""

import logging

from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

TRY_AGAIN = _("The job queue cannot be reached just now, so nothing was queued. Please try again in a minute.")

BROKER_ERRORS = (BrokerOperationalError, RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)

# A user waits for the answer: a short retry covers a blink, not an outage.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


class QueueUnavailable(Exception):
    """The broker did not take the task; nothing was queued."""


def enqueue(task, *args, **kwargs):
    """task.delay(*args, **kwargs), raising QueueUnavailable when the broker is down."""
    try:
        return task.apply_async(args=args, kwargs=kwargs, retry_policy=RETRY_POLICY)
    except BROKER_ERRORS as error:
        logger.warning("queue unavailable: %s not queued (%s)", task.name, type(error).__name__)
        raise QueueUnavailable(task.name) from error
