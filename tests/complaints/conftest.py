"""A product line with its questionnaire (three questions), and cust_a's main contact."""

import pytest

from complaints.models import CauseCategory, Question, Questionnaire
from customers.models import Contact, ProductLine
from tests.factories import ProductFactory


@pytest.fixture
def line(db):
    return ProductLine.objects.create(name="Consumables")


@pytest.fixture
def product(line):
    return ProductFactory(sku="CO-010", name="Shrink film roll", line=line)


@pytest.fixture
def questionnaire(line):
    questionnaire = Questionnaire.objects.create(name="Consumables", product_line=line)
    for order, text in ((10, "Product quality"), (20, "Delivery speed"), (30, "Packaging")):
        Question.objects.create(questionnaire=questionnaire, text=text, order=order)
    return questionnaire


@pytest.fixture
def questions(questionnaire):
    return list(questionnaire.questions.order_by("order"))


@pytest.fixture
def contact_a(cust_a):
    return Contact.objects.create(customer=cust_a, name="Anna Alpha", email="anna@alpha.example", is_primary=True)


@pytest.fixture
def category(db):
    return CauseCategory.objects.create(name="Late delivery")


def scores(questions, *values, comment=""):
    return {question.pk: (value, comment) for question, value in zip(questions, values, strict=True)}
