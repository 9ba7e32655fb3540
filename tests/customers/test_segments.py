"""Segment rules: every operator, priority, no match; SQL and Python agree."""

import random

import pytest
from django.core.exceptions import ValidationError

from customers.models import Customer, Segment, SegmentRule
from customers.segment_rules import parse_value, rule_matches, rule_q, segment_for, segments_assign
from tests.factories import CustomerFactory


def segment(name, priority, *rules):
    seg = Segment.objects.create(name=name, priority=priority)
    for field, operator, value in rules:
        SegmentRule.objects.create(segment=seg, field=field, operator=operator, value=value)
    return seg


CASES = [
    # (field, operator, value, customer attributes, expected)
    ("industry", "eq", "manufacturing", {"industry": "Manufacturing"}, True),
    ("industry", "eq", "Retail", {"industry": "Manufacturing"}, False),
    ("industry", "ne", "Retail", {"industry": "Manufacturing"}, True),
    ("industry", "ne", "retail", {"industry": "Retail"}, False),
    ("employees", "gt", "1000", {"employees": 1001}, True),
    ("employees", "gt", "1000", {"employees": 1000}, False),
    ("employees", "gte", "1000", {"employees": 1000}, True),
    ("employees", "lt", "50", {"employees": 49}, True),
    ("employees", "lt", "50", {"employees": 50}, False),
    ("employees", "lte", "50", {"employees": 50}, True),
    ("employees", "gt", "10", {"employees": None}, False),
    ("employees", "lt", "10", {"employees": None}, False),
    ("employees", "ne", "10", {"employees": None}, True),
    ("employees", "eq", "10", {"employees": None}, False),
    ("year_founded", "in", "1999, 2005", {"year_founded": 2005}, True),
    ("year_founded", "in", "1999, 2005", {"year_founded": 2006}, False),
    ("city", "contains", "chest", {"city": "Manchester"}, True),
    ("city", "contains", "leeds", {"city": "Manchester"}, False),
    ("city", "in", "Leeds, york", {"city": "York"}, True),
    ("has_branches", "eq", "yes", {"has_branches": True}, True),
    ("has_branches", "eq", "no", {"has_branches": True}, False),
    ("has_branches", "ne", "no", {"has_branches": True}, True),
    ("client_type", "eq", "B2B", {"client_type": "b2b"}, True),
    ("kind", "eq", "person", {"kind": "company"}, False),
    ("activity_type", "in", "production,trade", {"activity_type": "trade"}, True),
]


@pytest.mark.parametrize("field,operator,value,attributes,expected", CASES)
def test_each_operator_in_sql_and_in_python(field, operator, value, attributes, expected, db):
    customer = CustomerFactory(**attributes)
    rule = SegmentRule(field=field, operator=operator, value=value)
    assert rule_matches(customer, rule) is expected
    assert Customer.objects.filter(rule_q(rule), pk=customer.pk).exists() is expected


@pytest.mark.parametrize(
    "field,operator,value",
    [
        ("employees", "gt", "many"),
        ("city", "gt", "A"),
        ("has_branches", "gt", "yes"),
        ("has_branches", "eq", "maybe"),
    ],
)
def test_a_rule_that_cannot_work_is_refused(field, operator, value):
    with pytest.raises(ValidationError):
        parse_value(field, operator, value)


def test_the_first_matching_segment_by_priority_wins_and_the_rest_are_non_target(db):
    large = segment("Large manufacturers", 10, ("industry", "eq", "Manufacturing"), ("employees", "gte", "1000"))
    makers = segment("Manufacturers", 20, ("industry", "eq", "Manufacturing"))
    segment("Empty", 5)  # no rules: matches nobody
    big = CustomerFactory(industry="Manufacturing", employees=5000)
    small = CustomerFactory(industry="Manufacturing", employees=20)
    shop = CustomerFactory(industry="Retail", employees=20)
    # on save, each customer got its segment
    assert (big.segment, small.segment, shop.segment) == (large, makers, None)
    # and the bulk pass agrees
    Customer.objects.update(segment=None)
    counts = segments_assign()
    assert counts == {"Empty": 0, "Large manufacturers": 1, "Manufacturers": 1, "non-target": 1}
    assert dict(Customer.objects.values_list("pk", "segment_id")) == {
        big.pk: large.pk,
        small.pk: makers.pk,
        shop.pk: None,
    }


def test_inactive_segments_are_skipped(db):
    seg = segment("Retail", 1, ("industry", "eq", "Retail"))
    seg.is_active = False
    seg.save()
    assert CustomerFactory(industry="Retail").segment is None


def test_editing_a_customers_profile_moves_it_to_its_new_segment(mgr_a, client_for):
    from tests.customers.test_profile import post_customer

    makers = segment("Manufacturers", 1, ("industry", "eq", "Manufacturing"))
    customer = CustomerFactory(industry="Retail", manager=mgr_a)
    assert customer.segment is None
    response = post_customer(client_for(mgr_a), customer, name=customer.name, industry="Manufacturing")
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.segment == makers


def test_a_plain_save_leaves_the_segment_to_the_services(db):
    segment("Manufacturers", 1, ("industry", "eq", "Manufacturing"))
    customer = CustomerFactory(industry="Retail")
    customer.industry = "Manufacturing"
    customer.save()
    customer.refresh_from_db()
    assert customer.segment is None  # segments_assign or the editing service moves it


def test_bulk_assignment_equals_one_by_one_on_random_customers(db):
    rng = random.Random(3)
    segments = [
        segment("A", 1, ("employees", "gte", "500"), ("has_branches", "eq", "yes")),
        segment("B", 2, ("industry", "in", "Retail, Logistics"), ("city", "ne", "Leeds")),
        segment("C", 3, ("year_founded", "lt", "2000")),
        segment("D", 4, ("city", "contains", "on")),
    ]
    for _ in range(80):
        CustomerFactory(
            industry=rng.choice(["Retail", "Logistics", "Manufacturing"]),
            employees=rng.choice([None, 10, 500, 5000]),
            has_branches=rng.random() < 0.5,
            year_founded=rng.choice([None, 1990, 2010]),
            city=rng.choice(["Leeds", "London", "Hull"]),
        )
    one_by_one = {c.pk: getattr(segment_for(c, segments), "pk", None) for c in Customer.objects.all()}
    Customer.objects.update(segment=None)
    segments_assign()
    assert dict(Customer.objects.values_list("pk", "segment_id")) == one_by_one
