"""Another process, for tests of what two processes do at once: a thread with its own
database connection."""

import threading
from contextlib import contextmanager

from django.db import connections


@contextmanager
def held_elsewhere(hold):
    """Enter `hold()` (a context manager: a lock, say) in another thread with its own
    database connection, and keep it entered until this block ends."""
    entered, release = threading.Event(), threading.Event()

    def other_process():
        try:
            with hold():
                entered.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_process)
    thread.start()
    try:
        assert entered.wait(10), "the other process did not get there"
        yield
    finally:
        release.set()
        thread.join()
