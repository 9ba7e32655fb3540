"""The customer profile: the form with its contacts and competitors, the card, the
competitor directory and the referrer picker."""

import csv
import io
import random
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_project.dates import business_today
from customers.models import Competitor, Contact, Customer, CustomerCompetitor
from tests.factories import CustomerFactory, ProductFactory


def formset_data(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": initial}
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def post_customer(client, customer=None, contacts=(), competitors=(), initial=(0, 0), **fields):
    url = reverse("customers:customer_update", args=[customer.pk]) if customer else reverse("customers:customer_create")
    data = {"kind": "company", "name": "Northwind Traders", **fields}
    data.update(formset_data("contacts", list(contacts), initial[0]))
    data.update(formset_data("competitors", list(competitors), initial[1]))
    return client.post(url, data)


#
# Form validation
#


TOMORROW = object()  # a birthday one day after the business today, when the test runs


@pytest.mark.parametrize(
    "fields,field,message",
    [
        ({"year_founded": timezone.localdate().year + 1}, "year_founded", "cannot be in the future"),
        ({"year_founded": 1700}, "year_founded", "cannot be before 1800"),
        ({"employees": -5}, "employees", "greater than or equal to 0"),
        ({"kind": "person", "employees": 12}, "employees", "Only a company"),
        ({"kind": "person", "has_branches": "on"}, "has_branches", "Only a company"),
        ({"kind": "company", "birthday": "1980-02-03"}, "birthday", "Only a person"),
        ({"kind": "person", "birthday": TOMORROW}, "birthday", "future"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"client_type": "b2x"}, "client_type", "valid choice"),
    ],
)
def test_the_form_refuses_an_impossible_profile(fields, field, message, mgr_a, client_for):
    # "tomorrow" read when the test runs, not when it is collected: a run across midnight
    # made the collected date today's, which is not in the future
    fields = {key: (business_today() + timedelta(days=1)).isoformat() if value is TOMORROW else value
              for key, value in fields.items()}  # fmt: skip
    response = post_customer(client_for(mgr_a), **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Customer.objects.count() == 0


def test_a_full_profile_is_saved_and_shown_on_the_card(mgr_a, client_for):
    client = client_for(mgr_a)
    response = post_customer(
        client,
        name="Northwind Traders",
        tax_id="GB 111 222 333",
        industry="Retail",
        activity_type="trade",
        client_type="b2c",
        employees=120,
        has_branches="on",
        year_founded=1998,
        city="York",
        email="hello@northwind.example",
        phone="+44 1904 000000",
        acquisition_channel="exhibition",
        relationship_type="long_term",
        psychotype="loyal",
        notes="Prefers calls after 10.",
    )
    customer = Customer.objects.get(name="Northwind Traders")
    assert response.status_code == 302 and customer.manager == mgr_a
    assert customer.tax_id == "GB111222333"  # stored without spaces
    assert (customer.employees, customer.has_branches, customer.year_founded) == (120, True, 1998)
    card = client.get(customer.get_absolute_url()).content.decode()
    for shown in ["GB111222333", "Trade", "B2C", "120", "1998", "Exhibition", "Long-term", "Loyal", "Prefers calls"]:
        assert shown in card
    assert 'href="tel:+44 1904 000000"' in card and 'href="mailto:hello@northwind.example"' in card


def test_a_person_has_a_birthday_and_no_company_fields(mgr_a, client_for):
    client = client_for(mgr_a)
    post_customer(client, kind="person", name="Ada Lovelace", birthday="1985-12-10", city="London")
    person = Customer.objects.get(name="Ada Lovelace")
    assert person.birthday == date(1985, 12, 10) and person.employees is None
    card = client.get(person.get_absolute_url()).content.decode()
    assert "10 December 1985" in card and "Employees" not in card


#
# Contacts and competitors on the same page
#


def test_contacts_are_added_with_the_customer_and_empty_rows_are_ignored(mgr_a, client_for):
    client = client_for(mgr_a)
    response = post_customer(
        client,
        contacts=[
            {"name": "Jane Doe", "position": "Buyer", "phone": "+44 1 2345", "email": "jane@nw.example",
             "birthday": "1980-05-17", "is_primary": "on"},
            {"name": "Bob Roe", "position": "CFO"},
            {"name": ""},  # an extra row left empty
        ],
    )  # fmt: skip
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert [(c.name, c.is_primary) for c in customer.contacts.all()] == [("Jane Doe", True), ("Bob Roe", False)]
    card = client.get(customer.get_absolute_url()).content.decode()
    assert 'href="tel:+44 1 2345"' in card and 'href="mailto:jane@nw.example"' in card and "17 May" in card


def test_a_contact_is_deleted_and_another_added_in_one_save(cust_a, mgr_a, client_for):
    keep = Contact.objects.create(customer=cust_a, name="Keep Me")
    drop = Contact.objects.create(customer=cust_a, name="Drop Me")
    rows = [
        {"id": keep.pk, "name": "Keep Me", "position": "Owner"},
        {"id": drop.pk, "name": "Drop Me", "DELETE": "on"},
        {"name": "New Person"},
    ]
    response = post_customer(client_for(mgr_a), cust_a, contacts=rows, initial=(2, 0), name=cust_a.name)
    assert response.status_code == 302
    assert sorted(cust_a.contacts.values_list("name", "position")) == [("Keep Me", "Owner"), ("New Person", "")]


def test_a_contact_without_a_name_or_with_a_future_birthday_is_refused(mgr_a, client_for):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = post_customer(
        client_for(mgr_a), contacts=[{"name": "", "position": "Buyer"}, {"name": "Later", "birthday": tomorrow}]
    )
    formset = response.context["contact_formset"]
    assert response.status_code == 200
    assert "name" in formset.forms[0].errors and "birthday" in formset.forms[1].errors
    assert Customer.objects.count() == 0  # nothing is saved, the customer neither


def test_only_one_contact_is_the_main_one(mgr_a, client_for):
    rows = [{"name": "A", "is_primary": "on"}, {"name": "B", "is_primary": "on"}]
    response = post_customer(client_for(mgr_a), contacts=rows)
    assert "Only one contact can be the main contact." in response.context["contact_formset"].non_form_errors()


def test_competitor_links_are_edited_on_the_customer_page(cust_a, mgr_a, client_for):
    rival = Competitor.objects.create(name="Rival Co", strengths="Cheap freight", weaknesses="Slow support")
    product = ProductFactory(name="Shrink film")
    response = post_customer(
        client_for(mgr_a),
        cust_a,
        name=cust_a.name,
        competitors=[{"competitor": rival.pk, "product": product.pk, "notes": "Since 2021"}],
    )
    assert response.status_code == 302
    link = CustomerCompetitor.objects.get(customer=cust_a)
    assert (link.competitor, link.product, link.notes) == (rival, product, "Since 2021")
    card = client_for(mgr_a).get(cust_a.get_absolute_url()).content.decode()
    assert "Rival Co" in card and "Shrink film" in card and "Cheap freight" in card and "Slow support" in card


def test_a_competitor_row_keeps_a_product_no_longer_sold(cust_a, mgr_a, client_for):
    """The rows' product choice is every product (read as values, not instances): a row
    naming a retired product shows it chosen and saves again unchanged."""
    rival = Competitor.objects.create(name="Rival Co")
    retired = ProductFactory(name="Old film", sku="OF-1", is_active=False)
    link = CustomerCompetitor.objects.create(customer=cust_a, competitor=rival, product=retired)
    client = client_for(mgr_a)
    page = client.get(reverse("customers:customer_update", args=[cust_a.pk])).content.decode()
    assert f'<option value="{retired.pk}" selected>Old film (OF-1)</option>' in page
    response = post_customer(
        client, cust_a, name=cust_a.name, initial=(0, 1),
        competitors=[{"id": link.pk, "competitor": rival.pk, "product": retired.pk, "notes": "Still"}],
    )  # fmt: skip
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.product, link.notes) == (retired, "Still")


def test_the_same_competitor_and_product_twice_is_refused(cust_a, mgr_a, client_for):
    rival = Competitor.objects.create(name="Rival Co")
    rows = [{"competitor": rival.pk}, {"competitor": rival.pk}]
    response = post_customer(client_for(mgr_a), cust_a, name=cust_a.name, competitors=rows)
    assert response.status_code == 200
    assert response.context["competitor_formset"].forms[1].errors["competitor"]
    assert not CustomerCompetitor.objects.exists()


def test_the_form_page_renders_the_formsets_with_few_queries(cust_a, mgr_a, client_for, django_assert_max_num_queries):
    products = [ProductFactory() for _ in range(3)]
    for number in range(6):
        Contact.objects.create(customer=cust_a, name=f"Contact {number}")
        rival = Competitor.objects.create(name=f"Rival {number}")
        CustomerCompetitor.objects.create(customer=cust_a, competitor=rival, product=products[number % 3])
    client = client_for(mgr_a)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("customers:customer_update", args=[cust_a.pk]))
    assert response.status_code == 200
    assert b'name="contacts-TOTAL_FORMS"' in response.content and b"Rival 5" in response.content


def test_a_post_without_formsets_leaves_contacts_alone(cust_a, mgr_a, client_for):
    Contact.objects.create(customer=cust_a, name="Still Here")
    client_for(mgr_a).post(
        reverse("customers:customer_update", args=[cust_a.pk]), {"kind": "company", "name": "Renamed"}
    )
    cust_a.refresh_from_db()
    assert cust_a.name == "Renamed" and cust_a.contacts.get().name == "Still Here"


def test_saving_without_a_change_writes_no_history(cust_a, mgr_a, client_for):
    before = cust_a.history.count()
    fields = {"name": cust_a.name, "external_ref": cust_a.external_ref, "industry": cust_a.industry,
              "city": cust_a.city, "email": cust_a.email}  # fmt: skip
    response = post_customer(client_for(mgr_a), cust_a, **fields)
    assert response.status_code == 302
    assert cust_a.history.count() == before


#
# Referred by: only customers the user may see
#


def test_a_manager_cannot_name_another_managers_customer_as_referrer(cust_a, mgr_b, client_for):
    response = post_customer(client_for(mgr_b), name="Bravo", referred_by=cust_a.pk)
    assert response.status_code == 200
    assert "referred_by" in response.context["form"].errors
    assert not Customer.objects.filter(name="Bravo").exists()


def test_a_manager_names_their_own_customer_as_referrer(cust_a, mgr_a, client_for):
    response = post_customer(client_for(mgr_a), name="Bravo", referred_by=cust_a.pk, acquisition_channel="referral")
    assert response.status_code == 302
    assert Customer.objects.get(name="Bravo").referred_by == cust_a


def test_a_customer_cannot_refer_itself(cust_a, mgr_a, client_for):
    response = post_customer(client_for(mgr_a), cust_a, name=cust_a.name, referred_by=cust_a.pk)
    assert "referred_by" in response.context["form"].errors


def test_the_referrer_select_holds_only_the_chosen_customer(mgr_a, client_for):
    referrer = CustomerFactory(name="Referrer Ltd", manager=mgr_a)
    CustomerFactory.create_batch(5, manager=mgr_a)
    customer = CustomerFactory(name="Referred Ltd", manager=mgr_a, referred_by=referrer)
    response = client_for(mgr_a).get(reverse("customers:customer_update", args=[customer.pk]))
    select = response.content.decode().split('name="referred_by"', 1)[1].split("</select>", 1)[0]
    assert select.count("<option") == 2 and "Referrer Ltd" in select


def test_the_referrer_search_finds_only_the_users_customers(cust_a, mgr_a, mgr_b, client_for):
    url = reverse("customers:customer_options")
    # given mgr_b types mgr_a's customer's exact name, then nothing is offered
    response = client_for(mgr_b).get(url, {"referrer_q": "Alpha Works"})
    assert response.status_code == 200 and "No match for “Alpha Works”" in response.content.decode()
    assert f'value="{cust_a.pk}"'.encode() not in response.content
    # while mgr_a is offered it
    response = client_for(mgr_a).get(url, {"referrer_q": "alpha"})
    assert f'<option value="{cust_a.pk}">Alpha Works'.encode() in response.content


def test_the_referrer_search_keeps_the_current_choice_and_skips_the_customer_itself(mgr_a, client_for):
    current = CustomerFactory(name="Current Choice", manager=mgr_a)
    itself = CustomerFactory(name="Choice Itself", manager=mgr_a)
    params = {"referrer_q": "choice", "referred_by": current.pk, "exclude": itself.pk}
    content = client_for(mgr_a).get(reverse("customers:customer_options"), params).content.decode()
    assert f'<option value="{current.pk}" selected>Current Choice</option>' in content
    assert "Choice Itself" not in content


def test_the_card_names_a_referrer_outside_the_scope_only_as_such(cust_a, mgr_b, client_for):
    referred = CustomerFactory(name="Bravo Bakery", manager=mgr_b, referred_by=cust_a)
    content = client_for(mgr_b).get(referred.get_absolute_url()).content.decode()
    assert "a customer of another manager" in content and "Alpha Works" not in content
    own = CustomerFactory(name="Own Referral", manager=mgr_b, referred_by=referred)
    content = client_for(mgr_b).get(own.get_absolute_url()).content.decode()
    assert f'<a href="{referred.get_absolute_url()}">Bravo Bakery</a>' in content


#
# Competitor directory
#


def test_the_competitor_directory_counts_only_the_users_customers(cust_a, mgr_a, mgr_b, client_for):
    rival = Competitor.objects.create(name="Rival Co", strengths="Price", weaknesses="Service")
    CustomerCompetitor.objects.create(customer=cust_a, competitor=rival)
    CustomerCompetitor.objects.create(customer=CustomerFactory(manager=mgr_a), competitor=rival)
    url = reverse("customers:competitor_list")
    rows = client_for(mgr_b).get(url).context["table"].rows
    assert [(row.record.name, row.record.customers) for row in rows] == [("Rival Co", 0)]
    rows = client_for(mgr_a).get(url).context["table"].rows
    assert [(row.record.name, row.record.customers) for row in rows] == [("Rival Co", 2)]


def test_the_competitor_directory_exports_and_searches(mgr_a, client_for):
    Competitor.objects.create(name="=Rival", strengths="Price")
    Competitor.objects.create(name="Other")
    client = client_for(mgr_a)
    rows = list(csv.reader(io.StringIO(client.get(reverse("customers:competitor_list"), {"_export": "csv"})
                                       .content.decode("utf-8-sig"))))  # fmt: skip
    assert rows[1][0] == "'=Rival"  # through the export sanitiser
    response = client.get(reverse("customers:competitor_list"), {"q": "price"})
    assert [row.record.name for row in response.context["table"].rows] == ["=Rival"]


def test_admins_edit_contacts_and_competitors_in_django_admin(cust_a, admin_user, client_for):
    Contact.objects.create(customer=cust_a, name="Jane Doe")
    client = client_for(admin_user)
    page = client.get(reverse("admin:customers_customer_change", args=[cust_a.pk]))
    assert page.status_code == 200 and b"Jane Doe" in page.content
    assert client.get(reverse("admin:customers_competitor_changelist")).status_code == 200
    assert client.get(reverse("admin:customers_customercompetitor_changelist")).status_code == 200


#
# Demo profiles
#


def test_demo_profiles_fill_the_profile_deterministically(db, mgr_a):
    from customers.demo_profiles import seed_profiles

    def seeded(seed):
        Customer.objects.all().delete()
        Competitor.objects.all().delete()
        customers = [
            CustomerFactory(name=f"Firm {n}", manager=mgr_a, industry="Retail" if n % 2 else "Manufacturing")
            for n in range(40)
        ] + [CustomerFactory(name=f"Person {n}", kind="person", industry="", manager=mgr_a) for n in range(5)]
        seed_profiles(customers=customers, rng=random.Random(seed))
        profile = ("name", "activity_type", "employees", "tax_id", "client_type", "psychotype", "birthday")
        return (
            list(Customer.objects.order_by("name").values_list(*profile)),
            list(Contact.objects.order_by("customer__name", "name").values_list("customer__name", "name", "birthday")),
            list(CustomerCompetitor.objects.order_by("customer__name", "competitor__name")
                 .values_list("customer__name", "competitor__name")),
        )  # fmt: skip

    first = seeded(5)
    assert first == seeded(5)
    profiles, contacts, links = first
    companies = [row for row in profiles if row[0].startswith("Firm")]
    people = [row for row in profiles if row[0].startswith("Person")]
    assert all(row[1] and row[2] and row[3] and row[4] for row in companies)
    assert all(row[6] and row[2] is None for row in people)
    per_company = {name: sum(1 for c in contacts if c[0] == name) for name, *_ in companies}
    assert set(per_company.values()) <= {1, 2, 3} and len(per_company) == 40
    assert 2 <= len({c for c, _ in links}) <= 20 and Competitor.objects.count() == 5
    assert all(c.normalized_name for c in Customer.objects.all())


def test_the_history_names_a_referrer_outside_the_scope_only_as_such(cust_a, mgr_a, mgr_b, client_for):
    # given mgr_b's customer whose referrer was later set to mgr_a's customer, then to mgr_b's own
    own = CustomerFactory(name="Charlie Cafe", manager=mgr_b)
    referred = CustomerFactory(name="Bravo Bakery", manager=mgr_b)
    for referrer in (cust_a, own):
        referred.referred_by = referrer
        referred.save()
    # when mgr_b opens the card, the history shows both changes, naming only their own customer
    content = client_for(mgr_b).get(referred.get_absolute_url()).content.decode()
    assert "Alpha Works" not in content
    assert "referred by: ∅ → a customer of another manager" in content
    assert "referred by: a customer of another manager → Charlie Cafe" in content


def test_the_card_history_shows_choice_labels_not_codes(cust_a, mgr_a, client_for):
    # Issue 11, item 10: "Cold call", not cold_call.
    cust_a.acquisition_channel = Customer.Channel.COLD_CALL
    cust_a.save()
    cust_a.relationship_type = Customer.Relationship.LONG_TERM
    cust_a.save()
    content = client_for(mgr_a).get(cust_a.get_absolute_url()).content.decode()
    assert "acquisition channel: ∅ → Cold call" in content
    assert "relationship type: ∅ → Long-term" in content
    assert "cold_call" not in content and "long_term" not in content
