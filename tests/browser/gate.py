"""A gate in front of the live server, so a browser test's database reset never runs
while the server is still answering that test's requests.

Why: with SQLite in memory, pytest-django's live server answers every request on the
test's own database connection (one connection, shared across threads). When a test
ends while the page still has a request in flight (an htmx fragment, a redirect's
target), the request's queries run inside the teardown's flush transaction: the flush
then fails on a foreign key and the next test starts with the previous test's rows.
The gate lets requests through only while a test runs; closing it waits for those in
flight (to the end of their response) and answers any later one 503 without touching
the database.
"""

import threading

REFUSED = b"The test server is between tests."


class RequestGate:
    """A WSGI wrapper: `open()` when a test starts, `close()` before its database is reset."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Condition()
        self._active = 0
        self._open = False

    def open(self) -> None:
        with self._lock:
            self._open = True

    def close(self, timeout: float = 30) -> None:
        """Refuse new requests and wait until the ones in flight have finished."""
        with self._lock:
            self._open = False
            if not self._lock.wait_for(lambda: self._active == 0, timeout):
                raise RuntimeError(f"{self._active} live-server request(s) still running after {timeout} s")

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    def _done(self) -> None:
        with self._lock:
            self._active -= 1
            self._lock.notify_all()

    def __call__(self, environ, start_response):
        with self._lock:
            if not self._open:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [REFUSED]
            self._active += 1
        try:
            response = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _Tracked(response, self._done)


class _Tracked:
    """The response's iterable; the request counts as running until the server closes
    it (Django sends request_finished from close())."""

    def __init__(self, response, done):
        self.response = response
        self.done = done

    def __iter__(self):
        return iter(self.response)

    def close(self):
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            self.done()
