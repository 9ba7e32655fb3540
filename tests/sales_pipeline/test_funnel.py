"""The funnel's numbers on a hand-built set of deals (sales_pipeline.funnel).

March 2026 is the period. The deals, built through the pipeline's services at fixed times:

  A  mgr_a  1,000  Equipment  long push   opened 20 Feb, Offer 5 Mar, Agreement 10 Mar
  B  mgr_a    500  Services   short push  opened 2 Mar, Offer 4 Mar, lost at Offer 20 Mar ("Price too high")
  C  mgr_b    200  Equipment  long pull   opened 3 Mar, stays at Presentation
  D  mgr_a    300  Equipment  long push   opened 1 Mar, Offer 2 Mar, Agreement 3 Mar, back to Offer 6 Mar,
                                          Agreement again 8 Mar, Payment 9 Mar, Delivery 12 Mar,
                                          Closing 15 Mar, won 20 Mar
  E  mgr_a    400  Equipment  long push   opened 25 Mar, Offer 2 Apr (after the period)
  F  mgr_c    100  Equipment  long push   opened 5 Mar (team T2)
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import ProductLine
from sales_pipeline.funnel import funnel_report
from sales_pipeline.models import Deal, RefusalReason, Stage
from sales_pipeline.services import deals as deal_services
from tests.factories import CustomerFactory, ProductFactory
from tests.sales_pipeline.test_pipeline import fill, pay_in_full

MARCH = {"start": date(2026, 3, 1), "end": date(2026, 3, 31)}


def noon(month: int, day: int) -> datetime:
    return timezone.make_aware(datetime.combine(date(2026, month, day), time(12)))


def build(manager, *, amount, product, opened, moves=(), sale_type=Deal.SaleType.LONG_PUSH) -> Deal:
    """A deal opened at `opened` (month, day), then moved to each (stage, (month, day)) in
    `moves` with that stage's data entered on the day of the move."""
    deal = deal_services.deal_create(
        customer=CustomerFactory(manager=manager),
        manager=manager,
        title=f"Deal {amount}",
        sale_type=sale_type,
        actor=manager,
        lines=[{"product": product, "price": Decimal(amount), "quantity": 1, "discount": 0}],
        at=noon(*opened),
    )
    for to_stage, (month, day) in moves:
        if to_stage > deal.stage:
            fill(deal, deal.stage, manager, date(2026, month, day))
        deal = deal_services.deal_move(deal=deal, to_stage=to_stage, actor=manager, at=noon(month, day))
    return deal


@pytest.fixture
def lines(db):
    return {name: ProductLine.objects.create(name=name) for name in ("Equipment", "Services")}


@pytest.fixture
def deals(mgr_a, mgr_b, mgr_c, lines):
    equipment = ProductFactory(line=lines["Equipment"])
    service = ProductFactory(line=lines["Services"])
    a = build(mgr_a, amount=1000, product=equipment, opened=(2, 20), moves=[(2, (3, 5)), (3, (3, 10))])
    b = build(mgr_a, amount=500, product=service, opened=(3, 2), moves=[(2, (3, 4))], sale_type="short_push")
    price = RefusalReason.objects.get(stage=Stage.OFFER, text="Price too high")
    deal_services.deal_lose(deal=b, reason=price, comment="Too dear", actor=mgr_a, at=noon(3, 20))
    c = build(mgr_b, amount=200, product=equipment, opened=(3, 3), sale_type="long_pull")
    d = build(
        mgr_a, amount=300, product=equipment, opened=(3, 1),
        moves=[(2, (3, 2)), (3, (3, 3)), (2, (3, 6)), (3, (3, 8)), (4, (3, 9)), (5, (3, 12)), (6, (3, 15))],
    )  # fmt: skip
    pay_in_full(d, mgr_a, date(2026, 3, 16))
    fill(d, Stage.CLOSING, mgr_a, date(2026, 3, 20))
    deal_services.deal_close(deal=d, actor=mgr_a, at=noon(3, 20))
    e = build(mgr_a, amount=400, product=equipment, opened=(3, 25), moves=[(2, (4, 2))])
    f = build(mgr_c, amount=100, product=equipment, opened=(3, 5))
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def column(report, name):
    return [getattr(row, name) for row in report.stages]


def test_deals_reaching_each_stage_and_their_amounts(deals, admin_user):
    report = funnel_report(user=admin_user, **MARCH)
    # A was opened in February; D reached Agreement twice and counts once; E moved on in April
    assert column(report, "reached") == [5, 3, 2, 1, 1, 1]
    assert column(report, "amount") == [
        Decimal("1500.00"),  # B 500 + C 200 + D 300 + E 400 + F 100
        Decimal("1800.00"),  # A 1000 + B 500 + D 300
        Decimal("1300.00"),  # A + D
        Decimal("300.00"),
        Decimal("300.00"),
        Decimal("300.00"),
    ]
    assert (report.won, report.won_amount) == (1, Decimal("300.00"))


def test_conversion_from_stage_to_stage(deals, admin_user):
    report = funnel_report(user=admin_user, **MARCH)
    # Presentation: B and D of B, C, D, E, F; Offer: A and D of A, B, D; Agreement: D of A, D
    assert column(report, "converted") == [2, 2, 1, 1, 1, 1]
    assert column(report, "conversion") == [40.0, 66.7, 50.0, 100.0, 100.0, 100.0]


def test_average_days_per_stage_over_the_moves_out_of_it(deals, admin_user):
    report = funnel_report(user=admin_user, **MARCH)
    # out of Presentation: A 13 days (20 Feb - 5 Mar), B 2, D 1
    # out of Offer: A 5, B lost after 16, D 1 and 2; out of Agreement: D back after 3, on after 1
    assert column(report, "avg_days") == [5.3, 6.0, 2.0, 3.0, 3.0, 5.0]
    assert column(report, "left") == [3, 4, 2, 1, 1, 1]


def test_refusals_by_stage_and_reason(deals, admin_user):
    report = funnel_report(user=admin_user, **MARCH)
    assert [(r.stage, r.reason, r.count, r.amount) for r in report.refusals] == [
        (Stage.OFFER, "Price too high", 1, Decimal("500.00"))
    ]
    assert column(report, "lost") == [0, 1, 0, 0, 0, 0]
    assert report.lost == 1


def test_the_period_edges_are_whole_days_in_the_business_time_zone(deals, admin_user):
    # 1 March to 2 March holds D's opening and its move to Offer, and B's opening
    report = funnel_report(user=admin_user, start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert column(report, "reached")[:2] == [2, 1]
    # April holds only E's move to Offer
    report = funnel_report(user=admin_user, start=date(2026, 4, 1), end=date(2026, 4, 30))
    assert column(report, "reached") == [0, 1, 0, 0, 0, 0]
    assert column(report, "conversion")[0] is None


@pytest.mark.parametrize(
    "filters,reached",
    [
        ({"manager": "mgr_b"}, [1, 0, 0, 0, 0, 0]),  # C
        ({"sale_type": "short_push"}, [1, 1, 0, 0, 0, 0]),  # B
        ({"product_line": "Services"}, [1, 1, 0, 0, 0, 0]),  # B
        ({"team": "T2"}, [1, 0, 0, 0, 0, 0]),  # F
    ],
)
def test_the_filters_narrow_the_deals(filters, reached, deals, admin_user, lines, team_2):
    from django.contrib.auth import get_user_model

    resolved = {}
    for name, value in filters.items():
        if name == "manager":
            value = get_user_model().objects.get(username=value)
        elif name == "product_line":
            value = lines[value]
        elif name == "team":
            value = team_2
        resolved[name] = value
    report = funnel_report(user=admin_user, **MARCH, **resolved)
    assert column(report, "reached") == reached


def test_a_director_sees_the_funnel_of_their_teams_only(deals, dir_1):
    report = funnel_report(user=dir_1, **MARCH)
    assert column(report, "reached")[0] == 4  # F is in team T2


def test_the_funnel_takes_the_same_queries_whatever_the_data(deals, admin_user):
    with CaptureQueriesContext(connection) as queries:
        funnel_report(user=admin_user, **MARCH)
    # the stages (on PostgreSQL from the days), the refusals
    assert len(queries) == 2


def test_an_empty_period_gives_zeros_not_errors(admin_user):
    report = funnel_report(user=admin_user, start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert column(report, "reached") == [0] * 6 and report.won == 0 and report.refusals == []
    assert column(report, "avg_days") == [None] * 6


def test_the_period_is_inclusive_of_its_last_day(mgr_a, admin_user, lines):
    product = ProductFactory(line=lines["Equipment"])
    build(mgr_a, amount=10, product=product, opened=(3, 31))
    assert funnel_report(user=admin_user, **MARCH).stages[0].reached == 1
    report = funnel_report(user=admin_user, start=date(2026, 4, 1), end=date(2026, 4, 1) + timedelta(days=1))
    assert report.stages[0].reached == 0
