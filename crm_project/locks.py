"""Advisory locks, in one place: who may run a job or an import now.

On PostgreSQL these are advisory locks, which the server frees when the holding
connection dies, so a killed worker never blocks the next run. In the embedded SQLite
setup, where one process does the work, a cache entry stands in for `exclusive` and the
others are no-ops (SQLite serialises writers by itself).
"""

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import connection

# A lock held this long in the cache is taken as abandoned (SQLite only).
CACHE_LOCK_SECONDS = 6 * 60 * 60


class LockHeld(Exception):
    """Another holder has the lock; the caller did nothing."""


def lock_key(name: str) -> int:
    """A stable 31-bit key for `name`, the same in every process."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


_held_here: set[str] = set()
_held_here_guard = threading.Lock()


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Run the body at most once at a time, or raise LockHeld at once. A session lock:
    held across the body's transactions. PostgreSQL's advisory locks stack within one
    session, so a process-local set also refuses a second holder in the same process."""
    with _held_here_guard:
        if name in _held_here:
            raise LockHeld(name)
        _held_here.add(name)
    try:
        if _postgresql():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(name)])
                if not cursor.fetchone()[0]:
                    raise LockHeld(name)
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(name)])
        else:
            if not cache.add(f"lock:{name}", "held", timeout=CACHE_LOCK_SECONDS):
                raise LockHeld(name)
            try:
                yield
            finally:
                cache.delete(f"lock:{name}")
    finally:
        with _held_here_guard:
            _held_here.discard(name)


def wait_in_transaction(name: str) -> None:
    """Wait for `name` and hold it until the current transaction ends: one import at a time,
    so that two files creating the same new record do not race."""
    if _postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(name)])


@contextmanager
def held_while_running(name: str, item_id: int) -> Iterator[None]:
    """Hold (`name`, `item_id`) for the body: a run that says 'running' while its lock is free
    has lost its process (see `is_abandoned`)."""
    if not _postgresql():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [lock_key(name), item_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [lock_key(name), item_id])


@contextmanager
def while_abandoned(name: str, item_id: int) -> Iterator[bool]:
    """Yield True, holding the lock, when no process holds (`name`, `item_id`) (its holder
    is gone), else False. Always False off PostgreSQL, where nothing could tell."""
    if not _postgresql():
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [lock_key(name), item_id])
        free = cursor.fetchone()[0]
    try:
        yield free
    finally:
        if free:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [lock_key(name), item_id])
