"""Duplicate warnings: the same tax id, email, phone or normalised name, company-wide,
shown without leaking customers the user may not see."""

import pytest
from django.urls import reverse

from customers.duplicates import duplicates_for_user, find_duplicates
from customers.models import Customer
from tests.factories import CustomerFactory

NOTHING = {"name": "", "tax_id": "", "email": "", "phone": ""}


def matches(**given):
    return [(customer.name, reasons) for customer, reasons in find_duplicates(**{**NOTHING, **given})]


@pytest.fixture
def acme(mgr_a):
    return CustomerFactory(
        name="The ACME Ltd.",
        tax_id="GB123456789",
        email="Sales@Acme.example",
        phone="+44 (20) 7946-0000",
        manager=mgr_a,
    )


def test_the_same_tax_id_is_a_duplicate_whatever_the_spaces(acme):
    assert matches(tax_id="GB 123 456 789") == [("The ACME Ltd.", ["same tax id"])]
    assert matches(tax_id="GB123456780") == []


def test_a_tax_id_stored_with_spaces_still_matches(mgr_a):
    CustomerFactory(name="Spaced", tax_id="DE 999 888", manager=mgr_a)
    assert matches(tax_id="DE999888") == [("Spaced", ["same tax id"])]


def test_the_same_email_is_a_duplicate_in_any_case(acme):
    assert matches(email="sales@ACME.example") == [("The ACME Ltd.", ["same email"])]
    assert matches(email="info@acme.example") == []


def test_the_same_phone_digits_are_a_duplicate_whatever_the_punctuation(acme):
    assert matches(phone="44 20 7946 0000") == [("The ACME Ltd.", ["same phone"])]
    assert matches(phone="+44.20.7946.0001") == []


def test_a_phone_with_too_few_digits_is_not_compared(mgr_a):
    CustomerFactory(name="Short", phone="12-34", manager=mgr_a)
    assert matches(phone="1234") == []


def test_the_normalised_name_is_a_duplicate(acme):
    # given "The ACME Ltd." exists, when someone types "acme" or "ACME limited"
    assert matches(name="acme") == [("The ACME Ltd.", ["same name"])]
    assert matches(name="ACME, Limited") == [("The ACME Ltd.", ["same name"])]
    assert matches(name="Acme Foods") == []


def test_every_matching_reason_is_listed_once_per_customer(acme):
    found = matches(name="Acme", tax_id="GB123456789", email="sales@acme.example", phone="020 7946 0000 x")
    assert found == [("The ACME Ltd.", ["same name", "same tax id", "same email"])]


def test_empty_values_match_nothing(acme):
    CustomerFactory(name="No Email", email="", tax_id="", phone="")
    assert matches() == []


def test_the_customer_being_edited_is_not_its_own_duplicate(acme):
    assert find_duplicates(name="ACME", tax_id="", email="", phone="", exclude_pk=acme.pk) == []


def test_duplicates_are_searched_across_every_manager(acme, mgr_c):
    # given mgr_c (another team) types acme's tax id, the customer is still found
    (found,) = find_duplicates(**{**NOTHING, "tax_id": "GB123456789"})
    shown = duplicates_for_user([found], mgr_c)
    # but mgr_c is told only that another manager has it
    assert shown == [{"customer": None, "reasons": ["same tax id"]}]


def test_the_owner_is_shown_the_customer(acme, mgr_a):
    shown = duplicates_for_user(find_duplicates(**{**NOTHING, "name": "acme"}), mgr_a)
    assert shown == [{"customer": acme, "reasons": ["same name"]}]


#
# On the form
#


def create(client, **fields):
    return client.post(reverse("customers:customer_create"), {"kind": "company", **fields})


def test_creating_a_duplicate_shows_the_warning_and_saves_nothing(acme, mgr_a, client_for):
    client = client_for(mgr_a)
    response = create(client, name="Acme", email="new@example.com")
    assert response.status_code == 200
    assert response.context["duplicates"] == [{"customer": acme, "reasons": ["same name"]}]
    assert acme.get_absolute_url().encode() in response.content
    assert b"save_anyway" in response.content
    assert Customer.objects.count() == 1


def test_save_anyway_creates_the_customer(acme, mgr_a, client_for):
    response = create(client_for(mgr_a), name="Acme", save_anyway="on")
    assert response.status_code == 302
    assert Customer.objects.filter(name="Acme", manager=mgr_a).exists()


def test_another_managers_duplicate_is_named_only_as_such(acme, mgr_b, client_for):
    # given acme belongs to mgr_a, when mgr_b creates a customer with acme's phone
    response = create(client_for(mgr_b), name="Totally New", phone="+442079460000")
    # then the warning says a colleague has it, with no name, link or data
    assert response.status_code == 200
    content = response.content.decode()
    assert "a customer of another manager" in content and "same phone" in content
    assert "ACME" not in content and acme.get_absolute_url() not in content
    assert "Sales@Acme.example" not in content


def test_editing_a_customer_without_changing_its_identity_never_warns(acme, mgr_a, client_for):
    CustomerFactory(name="Acme Holdings", tax_id="GB123456789", manager=mgr_a)  # shares acme's tax id
    response = client_for(mgr_a).post(
        reverse("customers:customer_update", args=[acme.pk]),
        {"kind": "company", "name": acme.name, "tax_id": acme.tax_id, "email": acme.email, "phone": acme.phone,
         "city": "York"},
    )  # fmt: skip
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.city == "York"


def test_editing_into_another_customers_email_warns(acme, mgr_a, client_for):
    other = CustomerFactory(name="Other", email="other@example.com", manager=mgr_a)
    response = client_for(mgr_a).post(
        reverse("customers:customer_update", args=[other.pk]), {"kind": "company", "name": "Other", "email": acme.email}
    )
    assert response.status_code == 200
    assert response.context["duplicates"] == [{"customer": acme, "reasons": ["same email"]}]
