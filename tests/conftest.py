"""Shared personas (as in the reliability doc): mgr_a and mgr_b in team T1, mgr_c in
T2, dir_1 directs T1, admin is a superuser; cust_a belongs to mgr_a."""

import os

import pytest

from tests.factories import CustomerFactory, SalesTeamFactory, UserFactory, make_director, make_manager

PASSWORD = "correct horse battery staple"


def require(flag: str, reason: str):
    """Skip a test whose service is missing, unless CI asked for it (then fail loudly)."""
    if os.environ.get(flag) == "1":
        pytest.fail(f"{reason}, but {flag}=1 says it must be here")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_session_renewal_mid_test(request, settings):
    # On a loaded machine a test can take over a minute between its login and its pages:
    # the renewal's session UPDATE then changed the query counts the tests pin. The tests
    # of renewal itself are marked and keep the minute.
    if request.node.get_closest_marker("session_renewal") is None:
        settings.SESSION_RENEW_SECONDS = 24 * 3600


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    # Unit and page tests run tasks in-process; the worker test switches this off.
    from crm_project.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = True


@pytest.fixture
def team_1(db):
    return SalesTeamFactory(name="T1")


@pytest.fixture
def team_2(db):
    return SalesTeamFactory(name="T2")


@pytest.fixture
def mgr_a(team_1):
    return make_manager("mgr_a", team_1)


@pytest.fixture
def mgr_b(team_1):
    return make_manager("mgr_b", team_1)


@pytest.fixture
def mgr_c(team_2):
    return make_manager("mgr_c", team_2)


@pytest.fixture
def dir_1(team_1):
    return make_director("dir_1", team_1)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def cust_a(mgr_a):
    return CustomerFactory(name="Alpha Works", manager=mgr_a)


@pytest.fixture
def cust_c(mgr_c):
    return CustomerFactory(name="Charlie Foods", manager=mgr_c)


@pytest.fixture
def pool_customer(db):
    return CustomerFactory(name="Pool Prospect", manager=None)


@pytest.fixture
def client_for(client):
    """client_for(user) logs the test client in as `user`."""

    def login(user):
        client.force_login(user)
        return client

    return login
