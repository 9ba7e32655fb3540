"""Segment rules: every operator, priority, no match; SQL and Python agree."""

import random

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

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


#
# Issue 11, item 5: rules are validated when saved, a broken one never fails a save, and
# changing rules or priorities reassigns every customer.
#


def rule_admin_data(name, priority, rules, segment=None):
    """The admin's segment form with its rule and portrait inlines."""
    data = {"name": name, "priority": priority, "description": "", "is_active": "on"}
    initial = segment.rules.count() if segment else 0
    data.update({"rules-TOTAL_FORMS": len(rules), "rules-INITIAL_FORMS": initial})
    for index, row in enumerate(rules):
        data.update({f"rules-{index}-{key}": value for key, value in row.items()})
    data.update({"portrait_entries-TOTAL_FORMS": 0, "portrait_entries-INITIAL_FORMS": 0})
    return data


@pytest.mark.parametrize(
    "field,operator,value,message",
    [
        ("employees", "gt", "lots", "is not a whole number"),
        ("has_branches", "gt", "yes", "only take 'equals'"),
        ("city", "gte", "Leeds", "Text fields take"),
        ("has_branches", "eq", "maybe", "Use yes or no"),
    ],
)
def test_the_admin_refuses_a_segment_rule_whose_value_does_not_parse(
    field, operator, value, message, admin_user, client_for
):
    response = client_for(admin_user).post(
        reverse("admin:customers_segment_add"),
        rule_admin_data("Big makers", 1, [{"field": field, "operator": operator, "value": value}]),
    )
    assert response.status_code == 200  # the form again, not a redirect
    errors = [e for formset in response.context["inline_admin_formsets"] for e in formset.formset.errors]
    assert any(message in " ".join(error.get("value", [])) for error in errors)
    assert not Segment.objects.exists()


def test_a_broken_rule_already_in_the_table_never_makes_a_customer_save_fail(cust_a, mgr_a, client_for):
    broken = segment("Broken", 1, ("employees", "gt", "lots"))  # written before rules were validated
    good = segment("Makers", 2, ("industry", "eq", "manufacturing"))
    response = client_for(mgr_a).post(
        reverse("customers:customer_update", args=[cust_a.pk]),
        {"kind": "company", "name": "Alpha Works", "industry": "Manufacturing", "employees": 5000},
    )
    assert response.status_code == 302
    cust_a.refresh_from_db()
    assert cust_a.segment == good
    assert segments_assign() == {broken.name: 0, good.name: 1, "non-target": 0}


def test_changing_a_rule_or_a_priority_in_the_admin_reassigns_every_customer(admin_user, client_for):
    from django.contrib.admin.models import LogEntry

    makers = segment("Makers", 1, ("industry", "eq", "manufacturing"))
    leeds = segment("Leeds", 2, ("city", "eq", "leeds"))
    both = CustomerFactory(industry="Manufacturing", city="Leeds")
    only_leeds = CustomerFactory(industry="Retail", city="Leeds")
    segments_assign()
    client = client_for(admin_user)
    # the priority: Leeds first now
    rule = leeds.rules.get()
    data = rule_admin_data("Leeds", 0, [{"id": rule.pk, "segment": leeds.pk, "field": "city", "operator": "eq",
                                         "value": "leeds"}], segment=leeds)  # fmt: skip
    assert client.post(reverse("admin:customers_segment_change", args=[leeds.pk]), data).status_code == 302
    both.refresh_from_db()
    assert both.segment == leeds
    logged = [entry.get_change_message() for entry in LogEntry.objects.filter(object_id=str(leeds.pk))]
    assert "Segments reassigned: Leeds 2, Makers 0, non-target 0" in logged
    # a rule: Leeds now means York
    data["rules-0-value"] = "york"
    assert client.post(reverse("admin:customers_segment_change", args=[leeds.pk]), data).status_code == 302
    both.refresh_from_db(), only_leeds.refresh_from_db()
    assert (both.segment, only_leeds.segment) == (makers, None)


def test_rule_check_names_the_field_at_fault():
    from customers.segment_rules import rule_check

    for (field, operator, value), at_fault in [
        (("shoe_size", "eq", "42"), "field"),
        (("city", "like", "Leeds"), "operator"),
        (("year_founded", "in", "1999, soon"), "value"),
    ]:
        with pytest.raises(ValidationError) as error:
            rule_check(field, operator, value)
        assert list(error.value.message_dict) == [at_fault]
    rule_check("year_founded", "in", "1999, 2005")  # a good rule passes


def test_a_rule_on_an_unknown_field_matches_nobody_instead_of_failing(cust_a):
    broken = segment("Shoes", 1, ("shoe_size", "eq", "42"))
    assert segment_for(cust_a) is None
    assert segments_assign()[broken.name] == 0
