import pytest

from tests.conftest import require
from tests.customers.test_access import objects_of_mgr_a  # noqa: F401 - a fixture shared with the access tests
from tests.reliability.services import OwnPostgres, OwnRedis, server_binaries_missing


def _servers_or_skip():
    missing = server_binaries_missing()
    if missing:
        require("CRM_REQUIRE_SERVICES", missing)


@pytest.fixture
def own_redis():
    _servers_or_skip()
    server = OwnRedis()
    server.start()
    yield server
    server.close()


@pytest.fixture
def own_postgres():
    _servers_or_skip()
    server = OwnPostgres()
    server.start()
    yield server
    server.close()
