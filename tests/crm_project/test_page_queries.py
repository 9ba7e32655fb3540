"""Every page a manager or director opens runs the same number of queries with a little
data and with six times as much (issue 15). The pages with a test of their own
(customer list and card, agenda, managed base, board, deal list and page, funnel, class
overview, complaint and card lists, reporting pages) are pinned there; these are the rest."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.models import CauseCategory, Complaint, Question, Questionnaire, Survey
from crm_project.dates import business_today
from customers.models import Interaction, PlannedContact, Product, ProductLine
from loyalty.models import Card, PointsEntry, Program
from sales_pipeline.models import SettlementLine
from segmentation.services import segments_recompute
from tests.factories import CustomerFactory

PAGES = [
    "/search/?q=customer",
    "/customers/agenda/month/",
    "/settlements/",
    "/settlements/imports/",
    "/segments/lifecycle/",
    "/segments/changes/",
    "/segments/nudge/",
    "/segments/runs/",
    "/deals/control-points/",
    "/loyalty/",
    "/loyalty/cards/{card}/",
    "/loyalty/pos/",
    "/loyalty/measures/",
    "/loyalty/campaigns/",
    "/complaints/",
    "/complaints/{complaint}/",
    "/complaints/statistics/",
    "/complaints/surveys/",
    "/reports/plans/",
    "/reports/health/",
    # the forms that pick a customer and products (tests/crm_project/test_form_pages.py)
    "/complaints/new/",
    "/complaints/surveys/new/",
    "/loyalty/cards/new/",
    "/deals/new/",
]


def grow(manager, count: int, serial: list[int]) -> None:
    """`count` more customers of `manager`, each with ledger lines, an interaction, a
    planned contact, a loyalty card with points, a complaint and a survey."""
    line = ProductLine.objects.get_or_create(name="Queries line")[0]
    product = Product.objects.get_or_create(sku="Q-1", defaults={"name": "Queries product", "line": line})[0]
    program = Program.objects.get_or_create(name="Queries points", defaults={"kind": Program.Kind.POINTS})[0]
    category = CauseCategory.objects.get_or_create(name="Queries cause")[0]
    questionnaire = Questionnaire.objects.get_or_create(name="Queries", defaults={"product_line": line})[0]
    Question.objects.get_or_create(questionnaire=questionnaire, text="How was it?")
    today = business_today()
    now = timezone.now()
    for _ in range(count):
        serial[0] += 1
        n = serial[0]
        customer = CustomerFactory(manager=manager, name=f"Queries customer {n}")
        SettlementLine.objects.bulk_create(
            SettlementLine(
                date=today - timedelta(days=30 * k + n),
                customer=customer,
                product=product,
                amount=Decimal(100 + n),
                manager=manager,
                source_key=f"queries-{n}-{k}",
            )
            for k in range(3)
        )
        Interaction.objects.create(customer=customer, manager=manager, summary="Call", kind="call")
        PlannedContact.objects.create(
            customer=customer, manager=manager, purpose="Follow up", due_date=today + timedelta(days=n % 20)
        )
        card = Card.objects.create(number=f"77{n:010d}", program=program, holder=customer, issued_on=date(2024, 1, 1))
        PointsEntry.objects.create(card=card, kind=PointsEntry.Kind.ADJUSTMENT, points=10, date=today, reason="Q")
        Complaint.objects.create(
            customer=customer, product=product, description="Late", owner=manager, cause_category=category
        )
        Survey.objects.create(customer=customer, product=product, questionnaire=questionnaire, created_at=now)
    segments_recompute(as_of=today)


def counts(client, values) -> dict[str, int]:
    result = {}
    for page in PAGES:
        url = page.format(**values)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        if response.status_code == 403:  # not this role's page
            continue
        assert response.status_code == 200, url
        result[url] = len(queries)
    return result


@pytest.mark.parametrize("role", ["manager", "director"])
def test_every_other_page_runs_the_same_queries_at_two_sizes(role, mgr_a, dir_1, client_for):
    serial = [0]
    grow(mgr_a, 2, serial)
    client = client_for(mgr_a if role == "manager" else dir_1)
    values = {
        "card": Card.objects.order_by("pk").first().pk,
        "complaint": Complaint.objects.order_by("pk").first().pk,
    }
    client.get("/customers/agenda/")  # session, caches
    small = counts(client, values)
    grow(mgr_a, 10, serial)
    large = counts(client, values)
    assert large == small
    assert len(small) >= len(PAGES) - 2
    assert max(small.values()) <= 40, small
