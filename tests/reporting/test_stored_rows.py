"""The rows the pages read (reporting.models: KpiCell, DashboardCell) against what they
stand for, and how ledger writes keep them: marked stale in the writer's transaction,
refilled after it, idempotent and resumable."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from customers.models import Product
from reporting import dashboard_blocks, kpi_table, kpis, selectors, services
from reporting.models import DashboardCell, KpiCell, KpiPeriod
from sales_pipeline.funnel import funnel_report
from sales_pipeline.models import SettlementLine
from sales_pipeline.services import ledger
from segmentation import selectors as segments
from segmentation.models import CustomerSnapshot
from tests.reporting.scenario import END, START, build
from tests.sales_pipeline.test_funnel import MARCH, deals, lines  # noqa: F401 (fixtures)

Q1 = (date(2024, 1, 1), date(2024, 3, 31))


@pytest.fixture
def ledger_rows(mgr_a, mgr_b, mgr_c, dir_1):
    return build(mgr_a, mgr_b, mgr_c)


def table(user, period):
    return {row.label: row.values for row in kpi_table.manager_table(user=user, period=period)}


def test_a_customer_recorded_by_two_managers_counts_once_in_the_team_and_the_total(ledger_rows, mgr_a, mgr_b,
                                                                                     dir_1, admin_user):  # fmt: skip
    # Anvil's repeat sale of 1 May was mgr_a's; mgr_b records another one on 3 May.
    SettlementLine.objects.create(customer=ledger_rows["A"], date=date(2024, 5, 3), manager=mgr_b,
                                  product=Product.objects.get(sku="P1"), amount=Decimal("20"),
                                  source_key="two-managers")  # fmt: skip
    period = services.kpi_period_fill(start=START, end=END)
    rows = table(dir_1, period)
    assert (rows["mgr_a"]["repeat_customers"], rows["mgr_a"]["repeat_amount"]) == (1, Decimal("50"))
    assert (rows["mgr_b"]["repeat_customers"], rows["mgr_b"]["repeat_amount"]) == (1, Decimal("20"))
    assert (rows["Team T1"]["repeat_customers"], rows["Team T1"]["repeat_amount"]) == (1, Decimal("70"))
    assert (rows["Total"]["repeat_customers"], rows["Total"]["repeat_amount"]) == (1, Decimal("70"))
    everything = table(admin_user, period)
    assert (everything["Total"]["repeat_customers"], everything["Total"]["primary_customers"]) == (1, 1)
    # Every cell of the teams and the total as the export computes them, counting the facts
    # themselves with pandas (kpis.manager_table): the summed cells lose nothing.
    counted = kpis.manager_table(selectors.facts_frame(period), teams=selectors.team_names())
    for label, key in (("Team T1", "team:T1"), ("Team T2", "team:T2"), ("Total", "TOTAL")):
        for column in kpis.MANAGER_COLUMNS:
            expected = counted.loc[key, column]
            if column.endswith("_amount"):
                expected = kpis.from_units(expected)
            assert everything[label][column] == expected, (label, column)
    # A manager sees their own cell only: nothing is subtracted from it.
    assert table(mgr_b, period)["Total"]["repeat_customers"] == 1


def test_the_monday_totals_of_every_director_equal_their_total_row(ledger_rows, mgr_b, dir_1, admin_user):
    SettlementLine.objects.create(customer=ledger_rows["A"], date=date(2024, 5, 3), manager=mgr_b,
                                  product=Product.objects.get(sku="P1"), amount=Decimal("20"),
                                  source_key="two-managers")  # fmt: skip
    period = services.kpi_period_fill(start=START, end=END)
    totals = selectors.totals_by_director(period=period, directors=[dir_1, admin_user])
    assert totals[dir_1.pk] == selectors.total_row(user=dir_1, period=period)
    assert totals[admin_user.pk] == selectors.total_row(user=admin_user, period=period)
    assert totals[dir_1.pk]["repeat"] == (1, 700_000)


def test_ledger_writes_mark_the_periods_of_their_dates_and_later_stale(
    ledger_rows, mgr_a, django_capture_on_commit_callbacks
):
    q1 = services.kpi_period_fill(start=Q1[0], end=Q1[1])
    q2 = services.kpi_period_fill(start=START, end=END)
    line = SettlementLine(customer=ledger_rows["B"], date=date(2024, 6, 3), manager=mgr_a, amount=Decimal("40"),
                          product=Product.objects.get(sku="P1"), source_key="late-payment")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ledger.lines_create([line], user=mgr_a, reason="test")
    q1.refresh_from_db()
    q2.refresh_from_db()
    assert q1.stale_since is None  # the line is after Q1: its figures cannot change
    # The task ran on commit (eager here) and refilled Q2: Bolt's repeat sale is in it.
    assert len(callbacks) == 1
    assert q2.stale_since is None
    assert table(mgr_a, q2)["mgr_a"]["repeat_amount"] == Decimal("90")


def test_a_ledger_write_with_the_queue_down_is_kept_and_its_period_stays_stale(
    ledger_rows, mgr_a, django_capture_on_commit_callbacks, monkeypatch
):
    from kombu.exceptions import OperationalError

    from reporting.tasks import fill_stale_kpis_task

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(fill_stale_kpis_task, "apply_async", broker_down)
    q2 = services.kpi_period_fill(start=START, end=END)
    line = SettlementLine(customer=ledger_rows["B"], date=date(2024, 6, 3), manager=mgr_a, amount=Decimal("40"),
                          product=Product.objects.get(sku="P1"), source_key="queue-down")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ledger.lines_create([line], user=mgr_a, reason="test")
    assert len(callbacks) == 1  # the refill was asked for, and its failure did not raise
    assert SettlementLine.objects.filter(source_key="queue-down").exists()
    q2.refresh_from_db()
    assert q2.stale_since is not None  # the nightly job (or the next write) refills it
    assert [p.pk for p in services.kpi_stale_fill()] == [q2.pk]


def test_a_deletion_in_admin_marks_and_the_refill_takes_the_line_out(ledger_rows, mgr_a, admin_user):
    q2 = services.kpi_period_fill(start=START, end=END)
    assert table(mgr_a, q2)["mgr_a"]["repeat_amount"] == Decimal("50")
    request = RequestFactory().post("/")
    request.user = admin_user
    model_admin = site._registry[SettlementLine]
    model_admin.delete_queryset(request, SettlementLine.objects.filter(source_key="s1"))  # A's 50 of 1 May
    q2.refresh_from_db()
    assert q2.stale_since is not None  # on_commit never runs inside the test's transaction
    assert [p.pk for p in services.kpi_stale_fill()] == [q2.pk]
    q2.refresh_from_db()
    assert q2.stale_since is None
    assert table(mgr_a, q2)["mgr_a"]["repeat_amount"] == Decimal("0")
    assert services.kpi_stale_fill() == []  # nothing left: a second run does nothing


def test_a_write_made_while_a_fill_reads_leaves_the_period_stale(ledger_rows, mgr_a):
    q2 = services.kpi_period_fill(start=START, end=END)
    inputs = services.FillInputs.read(END)  # the fill has begun reading...
    services.kpi_periods_mark_stale(since=date(2024, 5, 1))  # ...when a write commits
    services.kpi_period_fill(start=START, end=END, inputs=inputs)
    q2.refresh_from_db()
    assert q2.stale_since is not None  # these rows may miss the write: the next run redoes them
    services.kpi_stale_fill()
    q2.refresh_from_db()
    assert q2.stale_since is None


def test_an_import_marks_once_from_its_earliest_date(ledger_rows, mgr_a, django_assert_max_num_queries):
    q1 = services.kpi_period_fill(start=Q1[0], end=Q1[1])
    q2 = services.kpi_period_fill(start=START, end=END)
    assert services.kpi_periods_mark_stale(since=date(2024, 4, 15)) == 1
    assert services.kpi_periods_mark_stale(since=date(2024, 2, 1)) == 1  # Q2 keeps its first mark
    q1.refresh_from_db()
    q2.refresh_from_db()
    assert q1.stale_since is not None and q2.stale_since is not None


def test_refilling_gives_the_same_rows(ledger_rows):
    def rows(period):
        cells = set(KpiCell.objects.filter(period=period).values_list("manager_id", "kpi", "customers", "amount"))
        blocks = set(DashboardCell.objects.filter(period=period).values_list("manager_id", "block", "key", "n",
                                                                              "amount", "days"))  # fmt: skip
        return cells, blocks

    first = rows(services.kpi_period_fill(start=START, end=END))
    assert rows(services.kpi_period_fill(start=START, end=END)) == first
    assert KpiPeriod.objects.count() == 1


@pytest.mark.usefixtures("deals")
def test_the_dashboards_stored_blocks_equal_the_live_computations(mgr_a, dir_1, admin_user):
    period = services.kpi_period_fill(**MARCH)
    for user in (admin_user, dir_1, mgr_a):
        request = RequestFactory().get("/")
        request.user = user
        stored = dashboard_blocks.stored(request, period)
        live = funnel_report(user=user, **MARCH)
        funnel = stored["funnel"]
        assert [(s.stage, s.reached, s.amount, s.converted, s.avg_days, s.left, s.lost) for s in funnel.stages] == [
            (s.stage, s.reached, s.amount, s.converted, s.avg_days, s.left, s.lost) for s in live.stages
        ]
        assert (funnel.won, funnel.won_amount) == (live.won, live.won_amount)
        assert [(r.stage, r.reason, r.count, r.amount) for r in funnel.refusals] == [
            (r.stage, r.reason, r.count, r.amount) for r in live.refusals
        ]
    request = RequestFactory().get("/")
    request.user = admin_user
    stored = dashboard_blocks.stored(request, period)
    snapshots = CustomerSnapshot.objects.filter(as_of=MARCH["end"])
    matrix = segments.abc_xyz_matrix(snapshots)
    for row in stored["matrix"]:
        for cell in row["cells"]:
            assert cell["customers"] == matrix.get((row["abc"], cell["xyz"]), {}).get("customers", 0)
    ends = [row["as_of"] for row in stored["lifecycle"]]
    live_lifecycle = segments.lifecycle_counts(user=admin_user, dates=ends)
    for row in stored["lifecycle"]:
        assert row["counts"] == [live_lifecycle.get((row["as_of"], s), 0) for s in stored["statuses"]]
    # Deal D was paid in full on 16 March: March's net revenue is its 300.
    assert stored["dynamics"] == [(date(2026, 3, 1), Decimal("300.0000"))]
    # The funnel of the period, hand-counted in tests/sales_pipeline/test_funnel.py: A, B, C, D, E, F at
    # Presentation or later (A opened in February reaches Offer and Agreement in March).
    assert stored["funnel"].won == 1


@pytest.mark.usefixtures("deals")
def test_the_dashboard_link_and_page_render_the_stored_blocks(dir_1, client_for):
    services.kpi_period_fill(**MARCH)
    response = client_for(dir_1).get(reverse("reporting:dashboard") + "?start=2026-03-01&end=2026-03-31")
    assert response.status_code == 200
    assert "Price too high" in response.content.decode()


def test_the_by_customer_rows_follow_a_reassignment_at_once(ledger_rows, mgr_b, mgr_c, client_for):
    from customers.services.profiles import customers_reassign

    services.kpi_period_fill(start=START, end=END)
    url = reverse("reporting:kpi_customers") + f"?start={START}&end={END}"

    def names(user):
        return sorted(row.customer.name for row in client_for(user).get(url).context["table"].data)

    assert "Cog" in names(mgr_b) and "Cog" not in names(mgr_c)
    customers_reassign(customers=[ledger_rows["C"]], manager=mgr_c, actor=mgr_b)
    assert "Cog" not in names(mgr_b)  # no refill needed: the row's manager moved with the customer
    assert "Cog" in names(mgr_c)
    assert "Eyelet" in names(mgr_b)  # the pool's, as on the customer list


def test_an_apps_widget_gets_the_sums_of_its_stored_rows(ledger_rows, dir_1, mgr_a, admin_user):
    from loyalty import selectors as loyalty

    period = services.kpi_period_fill(start=START, end=END)
    for user in (admin_user, dir_1, mgr_a):
        request = RequestFactory().get("/")
        request.user = user
        (widget,) = [w for w in dashboard_blocks.stored(request, period)["widgets"] if w.title == "Loyalty"]
        live = loyalty.measures(user=user, as_of=END)
        stored = widget.context["loyalty_measures"]
        assert (stored.buyers, stored.loyal_buyers, stored.loyalty_index) == (
            live.buyers, live.loyal_buyers, live.loyalty_index
        ), user  # fmt: skip
        assert stored.regular_customers == live.regular_customers
    # By hand: the four periods to 30 June 2024 run from 1 July 2023; buyers there: Anvil (May 24;
    # its Feb 23 line is before), Bolt (Dec 23), Cog (Jan 24), Dowel (May 24): none in two periods.
    request = RequestFactory().get("/")
    request.user = admin_user
    (widget,) = [w for w in dashboard_blocks.stored(request, period)["widgets"] if w.title == "Loyalty"]
    assert (widget.context["loyalty_measures"].buyers, widget.context["loyalty_measures"].loyal_buyers) == (4, 0)


def test_the_tables_two_query_figures_equal_the_separate_reads(ledger_rows, mgr_b, dir_1, admin_user, mgr_a):
    SettlementLine.objects.create(customer=ledger_rows["A"], date=date(2024, 5, 3), manager=mgr_b,
                                  product=Product.objects.get(sku="P1"), amount=Decimal("20"),
                                  source_key="two-managers")  # fmt: skip
    period = services.kpi_period_fill(start=START, end=END)
    for user in (dir_1, admin_user, mgr_a, mgr_b):
        per_manager, teams, total = selectors.table_figures(user=user, period=period)
        assert per_manager == selectors.manager_rows(user=user, period=period)
        assert teams == selectors.team_rows(user=user, period=period)
        assert total == selectors.total_row(user=user, period=period)


def test_the_pages_say_when_the_figures_are_being_recounted(ledger_rows, dir_1, client_for):
    services.kpi_period_fill(start=START, end=END)
    url = reverse("reporting:kpi_managers") + f"?start={START}&end={END}"
    assert 'id="kpi-stale"' not in client_for(dir_1).get(url).content.decode()
    services.kpi_periods_mark_stale(since=START)
    for name in ("reporting:kpi_managers", "reporting:kpi_customers", "reporting:dashboard"):
        html = client_for(dir_1).get(reverse(name) + f"?start={START}&end={END}").content.decode()
        assert 'id="kpi-stale"' in html, name


def test_the_monday_email_runs_the_same_queries_for_one_director_or_three(ledger_rows, dir_1, team_1, team_2):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_director

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            services.weekly_summary_send(today=date(2024, 7, 8))
        return len(captured)

    services.weekly_summary_send(today=date(2024, 7, 8))  # fills last week once
    one = queries()
    make_director("dir_2", team_2)
    make_director("dir_3", team_1, team_2)
    assert queries() == one
    assert services.weekly_summary_send(today=date(2024, 7, 8)) == 3  # three e-mails, the same queries
