"""The database reset that ends a live-server test never overlaps a request of that test
(the cause of 'a browser test's teardown hit a foreign-key error and left 61 customers
behind for the next test')."""

import threading
import urllib.error
import urllib.request

import pytest
from django.core.management import call_command

from customers.models import Contact, Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - the test server
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_request_in_flight_when_a_test_ends_finishes_before_the_database_reset(served, request_gate):
    customer = CustomerFactory(name="Alpha Works")
    started, release = threading.Event(), threading.Event()
    inner = request_gate.app

    def late_request(environ, start_response):
        # like an htmx fragment still loading when the test's last assertion passed:
        # it writes a row pointing at a customer the reset is about to delete
        started.set()
        release.wait(10)
        Contact.objects.create(customer_id=customer.pk, name="Late Writer")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    request_gate.app = late_request
    try:
        answer = {}
        browser_side = threading.Thread(target=lambda: answer.update(status=fetch(served.url + "/late/")))
        browser_side.start()
        assert started.wait(10)

        # when the test ends, the gate closes: it waits for the request in flight
        closing = threading.Thread(target=request_gate.close)
        closing.start()
        closing.join(0.5)
        assert closing.is_alive()
        release.set()
        closing.join(10)
        browser_side.join(10)
        assert not closing.is_alive() and answer["status"] == 200
        assert Contact.objects.filter(name="Late Writer").count() == 1

        # then a later request is refused without reaching the database
        request_gate.app = inner
        assert fetch(served.url + "/customers/") == 503
        assert request_gate.active == 0

        # and the reset runs alone on the shared connection, and empties the database
        call_command("flush", interactive=False, verbosity=0)
        assert Customer.objects.count() == 0 and Contact.objects.count() == 0
    finally:
        release.set()
        request_gate.app = inner
        request_gate.open()  # `served` closes it again at teardown


def test_the_live_server_answers_while_a_test_runs(served):
    assert fetch(served.url + "/login/") == 200
