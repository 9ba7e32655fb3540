"""The load test's users (locust; started by bench/load_test.py, which explains the setup).

Managers and directors log in through the login form, then click through the pages of
their day with 1-3 s between clicks (LOAD_THINK="0" for none: the saturation run).
Managers also log calls on customer cards (an edit: GET the form, POST it). Page names
group the requests in the statistics. Data (which ids each user sees) comes from the
JSON file in LOAD_DATA, written by load_test.py.

Statistics count from the moment every user has logged in (LOAD_MEASURE seconds from
then, after which the run stops): a login checks a deliberately slow password hash, and
under load the ramp's logins queued into the measured minute and ate a good part of the
two cores, so the figures were of logins more than of the pages of a working day.

The server runs with DEBUG off, which marks cookies Secure; the load runs over plain
HTTP on this machine, so the session and CSRF cookies are sent by hand and every request
says X-Forwarded-Proto: https (as the TLS proxy in front of gunicorn would). The users are
locust's FastHttpUser (geventhttpclient), which costs the load generator, on the server's
two cores, less CPU per request than the requests-based HttpUser (README).
"""

import json
import os
import random
import time
from html.parser import HTMLParser
from http.cookies import SimpleCookie

import gevent
from locust import FastHttpUser, between, constant, events, task

DATA = json.loads(open(os.environ["LOAD_DATA"]).read()) if os.environ.get("LOAD_DATA") else {}
THINK = os.environ.get("LOAD_THINK", "1-3")
PROXY = {"X-Forwarded-Proto": "https"}
MEASURE = float(os.environ.get("LOAD_MEASURE", "0"))  # seconds measured once all are logged in; 0: locust's -t
SETTLE = float(os.environ.get("LOAD_SETTLE", "0"))  # seconds from the last login to the measure
MARK = os.environ.get("LOAD_MARK", "")  # files <MARK>.start and <MARK>.end: when the measured time began and ended
LOGIN_WAIT = 300  # seconds at most to wait for the logins
logged_in = 0
environment = None


@events.init.add_listener
def _keep_environment(environment, **kwargs):
    globals()["environment"] = environment


@events.spawning_complete.add_listener
def _measure_once_all_logged_in(user_count, **kwargs):
    if MEASURE:
        gevent.spawn(_measure, user_count)


def _measure(user_count):
    deadline = time.monotonic() + LOGIN_WAIT
    while logged_in < user_count and time.monotonic() < deadline:
        gevent.sleep(0.2)
    gevent.sleep(SETTLE)
    environment.stats.reset_all()
    if MARK:
        open(f"{MARK}.start", "w").close()
    gevent.sleep(MEASURE)
    if MARK:
        open(f"{MARK}.end", "w").close()
    environment.runner.quit()


def think():
    if THINK == "0":
        return constant(0)
    low, high = (float(x) for x in THINK.split("-"))
    return between(low, high)


class FormFields(HTMLParser):
    """The names and current values of a form's fields (inputs, selected options, textareas)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:  # as a browser submits them: the ticked ones only
                self.values[a["name"]] = a.get("value") or "on"
        elif tag == "input" and a.get("name") and a.get("type") != "submit":
            self.values[a["name"]] = a.get("value") or ""
        elif tag == "textarea" and a.get("name"):
            self.values[a["name"]] = ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._first = True
        elif tag == "option" and self._select:
            # the selected option, else the first (as a browser submits it)
            if "selected" in a or self._first:
                self.values[self._select] = a.get("value") or ""
            self._first = False

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


class CrmUser(FastHttpUser):
    abstract = True
    wait_time = think()
    username = ""

    def on_start(self):
        self.cookies = {}
        page = self.client.get("/login/", headers=PROXY, name="login (form)")
        self._keep(page)
        fields = FormFields()
        fields.feed(page.text)
        form = {**fields.values, "username": self.pick_username(), "password": DATA["password"]}
        with self.client.post(
            "/login/",
            data=form,
            headers=self._headers(),
            name="login (post)",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:
                answer.failure(f"login answered {answer.status_code}")
            self._keep(answer)
        self.after_login()
        globals()["logged_in"] += 1

    def after_login(self):
        """What a user reads before the clock starts (the clock waits for every user's)."""

    def pick_username(self) -> str:
        raise NotImplementedError

    def _keep(self, response):
        for header in response.headers.getlist("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                if name in ("csrftoken", "sessionid"):
                    self.cookies[name] = morsel.value

    def _headers(self, **extra):
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**PROXY, "Cookie": cookie, "Referer": self.host.replace("http://", "https://", 1) + "/", **extra}

    def submit(self, url, data, name, *, expect: int, **headers):
        """POST a form as the browser does (the CSRF token in its header); a failure unless
        it answers `expect` without field errors."""
        headers = self._headers(**{"X-CSRFToken": self.cookies.get("csrftoken", ""), **headers})
        with self.client.post(
            url, data=data, headers=headers, name=name, allow_redirects=False, catch_response=True
        ) as r:
            if r.status_code != expect or "is-invalid" in r.text:
                errors = " with field errors" if "is-invalid" in r.text else ""
                r.failure(f"{url} answered {r.status_code}{errors}")

    def page(self, url, name):
        with self.client.get(url, headers=self._headers(), name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{url} answered {r.status_code}")
            self._keep(r)
        return r


class Manager(CrmUser):
    weight = 4

    def pick_username(self):
        self.me = random.choice(DATA["managers"])
        return self.me["username"]

    def customer(self):
        return random.choice(self.me["customers"])

    @task(25)
    def agenda(self):
        self.page("/customers/agenda/", "agenda")

    @task(12)
    def customers(self):
        self.page("/customers/", "customer list")

    @task(8)
    def customers_filtered(self):
        city = random.choice(["lee", "york", "hull", "bath"])
        self.page(f"/customers/?city={city}&sort=-name", "customer list, filtered")

    @task(6)
    def customers_search(self):
        self.page(f"/customers/?q=customer+{random.randint(1, 999)}", "customer list, search")

    @task(15)
    def card(self):
        self.page(f"/customers/{self.customer()}/", "customer card")

    @task(6)
    def board(self):
        self.page("/deals/", "deal board")

    @task(6)
    def deal_list(self):
        self.page("/deals/list/", "deal list")

    @task(5)
    def deal(self):
        if not self.me["deals"]:
            return
        self.page(f"/deals/{random.choice(self.me['deals'])}/", "deal page")

    @task(4)
    def managed_base(self):
        self.page("/customers/managed-base/", "managed base")

    @task(3)
    def classes(self):
        self.page("/segments/", "classes")

    @task(2)
    def loyalty(self):
        self.page("/loyalty/", "loyalty cards")

    @task(2)
    def complaints(self):
        self.page("/complaints/", "complaints")

    @task(4)
    def log_call(self):
        """The edit: a call logged on a customer card (the form, then the POST)."""
        customer = self.customer()
        url = f"/customers/{customer}/interactions/new/"
        form = self.page(f"{url}?where=card", "log a call (form)")
        if form.status_code != 200:
            return
        fields = FormFields()
        fields.feed(form.text)
        data = {**fields.values, "where": "card", "kind": "call", "summary": "Load test call"}
        self.submit(url, data, "log a call (save)", expect=200, **{"HX-Request": "true"})


class Director(CrmUser):
    weight = 1

    def pick_username(self):
        return DATA["director"]

    @task(10)
    def dashboard(self):
        self.page(f"/reports/?{DATA['period']}", "dashboard")

    @task(5)
    def kpis(self):
        self.page(f"/reports/kpis/?{DATA['period']}", "KPI table")

    @task(6)
    def funnel(self):
        self.page("/deals/funnel/", "funnel")

    @task(5)
    def control_points(self):
        self.page("/deals/control-points/", "control points")

    @task(8)
    def customers(self):
        self.page("/customers/", "customer list")

    @task(6)
    def card(self):
        self.page(f"/customers/{random.choice(random.choice(DATA['managers'])['customers'])}/", "customer card")

    @task(4)
    def deal_list(self):
        self.page("/deals/list/?status=open&sort=-amount", "deal list")

    @task(3)
    def managed_base(self):
        self.page("/customers/managed-base/", "managed base")


#
# PERF-01 (../shared/docs/reliability.md): bench/load_test.py --perf01 runs these users only
#

PERF01_LIMITS = {"list": 500, "detail": 300, "dashboard": 800}  # p95 ms per kind of page
PERF01_FILTERS = [
    lambda: f"/customers/?city={random.choice(['lee', 'york', 'hull', 'bath'])}&sort=-name",
    lambda: f"/customers/?q=customer+{random.randint(1, 999)}",
    lambda: f"/customers/?kind={random.choice(['company', 'person'])}&sort=city",
    lambda: f"/customers/?industry={random.choice(['a', 'e', 'o'])}&page={random.randint(1, 5)}",
]


class Perf01Manager(CrmUser):
    """PERF-01's mix: 60 % customer list with filters, 25 % customer card, 10 % dashboard,
    5 % a profile edit POSTed (the form read once, when the user logs in: before the
    clock, so that the edits are 5 % of the requests measured)."""

    def pick_username(self):
        self.me = random.choice(DATA["managers"])
        return self.me["username"]

    def after_login(self):
        self.edited = random.choice(self.me["customers"])
        form = self.page(f"/customers/{self.edited}/edit/", "PERF-01 edit (form, before the clock)")
        fields = FormFields()
        fields.feed(form.text)
        self.edit_form = fields.values
        self.edits = 0

    @task(60)
    def customer_list(self):
        self.page(random.choice(PERF01_FILTERS)(), "PERF-01 list: customers, filtered")

    @task(25)
    def card(self):
        self.page(f"/customers/{random.choice(self.me['customers'])}/", "PERF-01 detail: customer card")

    @task(10)
    def dashboard(self):
        self.page(f"/reports/?{DATA['period']}", "PERF-01 dashboard")

    @task(5)
    def edit(self):
        self.edits += 1
        data = {**self.edit_form, "notes": f"PERF-01 edit {self.edits}"}
        self.submit(f"/customers/{self.edited}/edit/", data, "PERF-01 edit (POST)", expect=302)


@events.quitting.add_listener
def _perf01_verdict(environment, **kwargs):
    """PERF-01's pass criteria on the measured requests, as locust's exit code: no failed
    request, and each kind of page's p95 under its limit."""
    if os.environ.get("LOAD_CHECK") != "perf01":
        return
    verdicts, passed = [], True
    total = environment.stats.total
    if total.num_failures or not total.num_requests:
        passed = False
        verdicts.append(f"FAIL {total.num_failures} failed of {total.num_requests} requests")
    for entry in environment.stats.entries.values():
        kind = next((k for k in PERF01_LIMITS if entry.name.startswith(f"PERF-01 {k}")), None)
        if kind is None or not entry.num_requests:
            continue
        p95 = entry.get_response_time_percentile(0.95)
        ok = p95 < PERF01_LIMITS[kind]
        passed = passed and ok
        verdicts.append(f"{'pass' if ok else 'FAIL'} {entry.name}: p95 {p95:.0f} ms (limit {PERF01_LIMITS[kind]} ms)")
    print("PERF-01 verdict: " + ("passed" if passed else "failed") + "\n  " + "\n  ".join(verdicts), flush=True)
    if not passed:
        environment.process_exit_code = 1
