"""The customer pages go through translation end to end: the templates' words, the models'
labels and choices, and the labels written in Python (tables, filters, rows drawn by hand)."""

import pytest
from django.urls import reverse

from customers.models import Contact, Customer, Interaction
from tests import fake_catalog

pytestmark = pytest.mark.django_db

WORDS = {
    # templates
    "Profile": "Profil",
    "Interactions": "Échanges",
    "New customer": "Nouveau client",
    # models: a field's label, choices' labels
    "kind": "type",
    "Production": "Fabrication",
    "Company": "Entreprise",
    "Meeting": "Rendez-vous",
    # Python: a hand-written row, a table's default, a filter's empty choice
    "with %(name)s": "avec %(name)s",
    "— pool —": "— réserve —",
    "Any kind": "Tous les types",
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS):
        yield


def test_the_card_in_french(cust_a, mgr_a, client_for, french):
    # given a company in production, met with one of its contacts
    Customer.objects.filter(pk=cust_a.pk).update(kind="company", activity_type="production")
    contact = Contact.objects.create(customer=cust_a, name="Bob Stone")
    Interaction.objects.create(customer=cust_a, manager=mgr_a, contact=contact, kind="meeting", summary="Met")
    # when its card is opened in French
    html = client_for(mgr_a).get(reverse("customers:customer_detail", args=[cust_a.pk])).content.decode()
    # then the template's words, the choices' labels and the row drawn in Python are French
    for text in ("Profil", "Échanges", "Fabrication", "Entreprise", "<strong>Rendez-vous</strong> avec Bob Stone"):
        assert text in html, text
    assert ">Profile<" not in html and "Production" not in html and " with Bob Stone" not in html


def test_the_customer_list_in_french(pool_customer, dir_1, client_for, french):
    # when a director opens the list (the pool's customer has no manager) in French
    html = client_for(dir_1).get(reverse("customers:customer_list")).content.decode()
    # then the template's words, the model's column label and the Python-side labels are French
    for text in ("Nouveau client", "— réserve —", "Tous les types", ">Type<"):
        assert text in html, text
    assert "New customer" not in html and "— pool —" not in html and "Any kind" not in html
