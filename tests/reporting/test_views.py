"""Reporting pages: scoped figures and drill-downs, constant queries, exports, plans,
process health and dashboard hooks, the Monday e-mail."""

import csv
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import urlencode

from crm_project import hooks
from reporting import services
from reporting.models import HealthThreshold, Plan
from reporting.tasks import weekly_kpi_email_task
from sales_pipeline.models import SettlementLine
from tests.factories import CustomerFactory
from tests.reporting.scenario import END, START, aware, build

Q2 = urlencode({"start": START.isoformat(), "end": END.isoformat()})


@pytest.fixture
def ledger(mgr_a, mgr_b, mgr_c, dir_1):
    customers = build(mgr_a, mgr_b, mgr_c)
    services.kpi_period_fill(start=START, end=END)
    return customers


def drill(client, kpi, row):
    return client.get(reverse("reporting:kpi_drill") + f"?{Q2}&kpi={kpi}&row={row}")


def drilled_names(response):
    return sorted(fact["customer__name"] for fact in response.context["facts"])


def table_rows(response):
    return {row.label: row for row in response.context["rows"]}


def test_the_director_sees_the_teams_they_direct_with_subtotal_and_total(ledger, dir_1, client_for):
    response = client_for(dir_1).get(reverse("reporting:kpi_managers") + "?" + Q2)
    rows = table_rows(response)
    assert list(rows) == ["mgr_a", "mgr_b", "Unassigned", "Team T1", "Total"]
    assert rows["mgr_b"].values["lost"] == 1
    assert rows["mgr_b"].values["new_direction_amount"] == Decimal("30")
    # mgr_c's primary sale is outside dir_1's teams: not in their total
    assert rows["Total"].values["primary_customers"] == 0
    assert rows["Total"].values["potential"] == 2  # F (mgr_b) and E (the pool)


# The table's body as the template drew it before reporting.kpi_table_rows.
KPI_ROWS_TEMPLATE = (
    "{% for row in rows %}\n"
    "    <tr class=\"kpi-row-{{ row.kind }}{% if row.kind == 'team' %} table-light{% elif row.kind == 'total' %}"
    ' table-secondary fw-semibold{% endif %}" data-row="{{ row.label }}">\n'
    '      <th scope="row">{{ row.label }}</th>\n'
    "      {% for cell in row.cells %}\n"
    '      <td class="text-end kpi-{{ cell.key }}">{% if cell.kpi and cell.value %}'
    "<a href=\"{% url 'reporting:kpi_drill' %}?{{ period_query }}&amp;kpi={{ cell.kpi }}&amp;row={{ row.key }}\">"
    "{{ cell.shown }}</a>{% else %}{{ cell.shown }}{% endif %}</td>\n"
    "      {% endfor %}\n"
    "    </tr>\n"
    "  {% endfor %}"
)


def test_the_kpi_rows_drawn_in_python_are_the_templates(ledger, dir_1, mgr_a, client_for):
    from django.template import engines

    from reporting.kpi_table_rows import kpi_table_rows

    # given a label to escape and rows with linked, empty and share cells
    mgr_a.first_name, mgr_a.last_name = '<Ann & "Co">', ""
    mgr_a.save()
    response = client_for(dir_1).get(reverse("reporting:kpi_managers") + "?" + Q2)
    rows, period_query = response.context["rows"], response.context["period_query"]
    assert any(row.kind == "team" for row in rows) and any(cell["kpi"] and cell["value"] for cell in rows[0].cells)
    # when / then
    expected = engines["django"].from_string(KPI_ROWS_TEMPLATE).render({"rows": rows, "period_query": period_query})
    assert kpi_table_rows(rows, period_query) == expected
    assert "&lt;Ann &amp; &quot;Co&quot;&gt;" in response.content.decode()


def test_every_number_drills_into_exactly_its_customers(ledger, dir_1, mgr_b, client_for):
    client = client_for(dir_1)
    assert drilled_names(drill(client, "lost", mgr_b.pk)) == ["Cog"]
    assert drilled_names(drill(client, "class_changes", "all")) == ["Anvil", "Bolt", "Cog"]
    assert drilled_names(drill(client, "potential", "none")) == ["Eyelet"]
    response = drill(client, "new_direction", mgr_b.pk)
    assert [(f["customer__name"], f["amount"]) for f in response.context["facts"]] == [("Anvil", Decimal("30"))]


def test_another_managers_drill_down_is_a_404_and_the_total_holds_only_ones_own(ledger, mgr_a, mgr_b, mgr_c,
                                                                                 dir_1, client_for):  # fmt: skip
    client = client_for(mgr_a)
    assert drill(client, "lost", mgr_b.pk).status_code == 404
    assert drill(client, "lost", 999_999).status_code == 404
    assert drilled_names(drill(client, "class_changes", "all")) == ["Anvil", "Bolt"]
    assert drilled_names(drill(client, "potential", "none")) == []  # the pool's row is not a manager's figure
    rows = table_rows(client.get(reverse("reporting:kpi_managers") + "?" + Q2))
    assert list(rows) == ["mgr_a", "Total"]
    assert drill(client_for(dir_1), "primary", mgr_c.pk).status_code == 404


def test_the_by_customer_table_is_scoped_and_exports(ledger, dir_1, client_for):
    client = client_for(dir_1)
    response = client.get(reverse("reporting:kpi_customers") + "?" + Q2)
    names = sorted(row.customer.name for row in response.context["table"].data)
    assert names == ["Anvil", "Bolt", "Cog", "Eyelet", "Flange"]  # not Dowel (mgr_c, team T2)
    assert b"<svg" in response.content  # the sparklines
    export = client.get(reverse("reporting:kpi_customers") + "?" + Q2 + "&_export=csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    anvil = next(row for row in rows if row[0] == "Anvil")
    assert anvil[:11] == ["Anvil", "A", "mgr_a", "Lost", "Restored", "", "B", "", "Z", "0.0000", "50.0000"]


def test_exports_are_formula_escaped(ledger, dir_1, mgr_a, client_for):
    mgr_a.first_name, mgr_a.last_name = "=HYPERLINK(1)", ""
    mgr_a.save()
    response = client_for(dir_1).get(reverse("reporting:kpi_managers") + "?" + Q2 + "&_export=csv")
    assert "'=HYPERLINK(1)" in response.content.decode("utf-8-sig")
    xlsx = client_for(dir_1).get(reverse("reporting:kpi_managers") + "?" + Q2 + "&_export=xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxml")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _more_customers(mgr_a, mgr_b, n):
    for i in range(n):
        customer = CustomerFactory(manager=mgr_a if i % 2 else mgr_b, created_at=aware(START))
        SettlementLine.objects.create(customer=customer, date=START, amount=10 + i, manager=customer.manager,
                                      source_key=f"more-{customer.pk}")  # fmt: skip


@pytest.mark.parametrize("page", ["reporting:kpi_managers", "reporting:dashboard", "reporting:kpi_customers"])
def test_pages_run_a_constant_number_of_queries(page, ledger, dir_1, mgr_a, mgr_b, client_for):
    from reporting.periods import previous

    client = client_for(dir_1)
    url = reverse(page) + "?" + Q2
    services.kpi_period_fill(start=START, end=END)
    services.kpi_period_fill(start=previous(START, END)[0], end=previous(START, END)[1])
    client.get(url)  # warm the per-process caches (content types, settings row)
    small = _queries(client, url)
    _more_customers(mgr_a, mgr_b, 30)
    services.kpi_period_fill(start=START, end=END)
    assert _queries(client, url) == small
    assert small <= 45  # the dashboard with the loyalty and complaints widgets (hooks.DASHBOARD_WIDGETS)


def test_the_previous_period_is_compared_on_the_dashboard(ledger, dir_1, client_for):
    response = client_for(dir_1).get(reverse("reporting:dashboard") + "?" + Q2)
    assert (response.context["previous"].start.isoformat(), response.context["previous"].end.isoformat()) == (
        "2024-01-01", "2024-03-31",
    )  # fmt: skip
    lost = next(c for c in response.context["comparison"] if c["key"] == "lost")
    # Q1 (S - 1 = 31 Dec 2023): Bolt was new on 31 Dec and lost on 31 Mar; Anvil lost on both
    # days; Cog new on 31 Mar. Q2: Cog.
    assert (lost["now_value"], lost["before_value"]) == (1, 1)


def test_plans_are_set_by_directors_and_compared_with_actuals(ledger, dir_1, mgr_a, client_for):
    client = client_for(dir_1)
    data = {f"m{mgr_a.pk}-revenue": "40", f"m{mgr_a.pk}-primary": "0", f"m{mgr_a.pk}-new_direction": "10"}
    response = client.post(reverse("reporting:plans") + "?month=2024-05", data)
    assert response.status_code == 302
    assert Plan.objects.get(manager=mgr_a, month="2024-05-01").revenue == Decimal("40")
    page = client.get(reverse("reporting:kpi_managers") + "?" + Q2)
    plan = next(item for item in page.context["plans"] if item["row"].key == str(mgr_a.pk))
    revenue, primary, new_direction = plan["figures"]
    assert (revenue["plan"], revenue["actual"], revenue["percent"]) == (Decimal("40"), Decimal("50"), Decimal("125.0"))
    assert primary["percent"] is None  # a zero plan has no percentage
    assert (new_direction["actual"], new_direction["percent"]) == (Decimal("0"), Decimal("0.0"))


def test_a_bad_plan_is_a_field_error_and_managers_cannot_post(ledger, dir_1, mgr_a, client_for):
    response = client_for(dir_1).post(reverse("reporting:plans") + "?month=2024-05", {f"m{mgr_a.pk}-revenue": "-5"})
    assert response.status_code == 200 and not Plan.objects.exists()
    assert client_for(mgr_a).post(reverse("reporting:plans"), {f"m{mgr_a.pk}-revenue": "5"}).status_code == 404


def test_process_health_grades_shares_with_editable_thresholds_and_hook_rows(ledger, dir_1, client_for):
    def fake_check(user):
        return [hooks.HealthCheck(key="complaints_with_cause", label="Complaints with a cause", good=3, total=4,
                                  url="/complaints/")]  # fmt: skip

    hooks.register(hooks.PROCESS_HEALTH, fake_check)
    try:
        HealthThreshold.objects.create(key="complaints_with_cause", good=Decimal("0.8"), fair=Decimal("0.7"))
        checks = {c.key: c for c in client_for(dir_1).get(reverse("reporting:health")).context["checks"]}
        complaints = checks["complaints_with_cause"]
        assert (complaints.percent, complaints.grade) == (Decimal("75.0"), "+/-")
        # dir_1 sees A, B, C, E, F: none of them has a segment in this scenario
        segment = checks["customers_with_segment"]
        assert (segment.good, segment.total, segment.grade) == (0, 5, "-")
        records = client_for(dir_1).get(reverse("reporting:health_records") + "?key=customers_with_segment")
        assert sorted(name for name, _url, _m in records.context["rows"]) == ["Anvil", "Bolt", "Cog", "Eyelet",
                                                                               "Flange"]  # fmt: skip
    finally:
        hooks.unregister(hooks.PROCESS_HEALTH, fake_check)


def test_dashboard_shows_the_blocks_other_apps_register(ledger, dir_1, client_for):
    def widget(request, start, end, stored=None):
        figures = [("Customers buying in two of four periods", f"{start:%Y}: 42.0 %")]
        return hooks.Widget(title="Loyalty", template="reporting/_widget_figures.html", context={"figures": figures})

    hooks.register(hooks.DASHBOARD_WIDGETS, widget)
    try:
        response = client_for(dir_1).get(reverse("reporting:dashboard") + "?" + Q2)
    finally:
        hooks.unregister(hooks.DASHBOARD_WIDGETS, widget)
    html = response.content.decode()
    assert "<h2 class=\"h5\">Loyalty</h2>" in html
    assert "Customers buying in two of four periods</th><td class=\"text-end\">2024: 42.0 %" in html


def test_the_directors_home_is_the_dashboard(dir_1, mgr_a, client_for):
    assert client_for(dir_1).get("/")["Location"] == reverse("reporting:dashboard")
    assert client_for(mgr_a).get("/")["Location"] == reverse("customers:agenda")


def test_the_monday_email_goes_to_each_director_with_a_link(ledger, dir_1, settings):
    settings.SITE_URL = "https://crm.example.com"
    assert weekly_kpi_email_task() == "1 e-mails sent"
    (message,) = mail.outbox
    assert message.to == [dir_1.email]
    assert "https://crm.example.com/reports/kpis/?start=" in message.body
    assert "Lost: 0" in message.body
