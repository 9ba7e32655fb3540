"""Helpers for the tests of totals kept by database triggers (open deals, loyalty cards,
process health): which triggers a table has, and a second database session for the
concurrency tests."""

import threading

from django.db import connection, connections, transaction


def triggers_named(table: str, prefix: str) -> set[str]:
    """The names of `table`'s own triggers that start with `prefix`."""
    sql = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql, [table])
        return {name for (name,) in cursor.fetchall() if name.startswith(prefix)}


def in_thread(work, started: threading.Event, done: threading.Event) -> threading.Thread:
    """Run `work` in its own transaction on another thread, once `started` is set (10 s at
    most); `done` is set when it ends, whether it commits or fails."""

    def run():
        try:
            started.wait(10)
            with transaction.atomic():
                work()
        finally:
            done.set()
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
