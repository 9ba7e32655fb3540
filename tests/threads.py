"""A second database session for the concurrency tests of the totals kept by triggers."""

import threading

from django.db import connections, transaction


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
