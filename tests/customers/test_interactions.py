"""Logging interactions: the service, the quick entry on the card and on an agenda row."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Contact, Interaction, PlannedContact
from customers.services.agenda import interaction_log
from tests.factories import CustomerFactory, ProductFactory


@pytest.fixture
def tomorrow():
    return timezone.localdate() + timedelta(days=1)


def plan(customer, day, *, manager=None, purpose="Call back"):
    return PlannedContact.objects.create(
        customer=customer, manager=manager or customer.manager, due_date=day, purpose=purpose
    )


def quick_entry(**overrides):
    data = {"kind": "call", "summary": "Talked about the spring order", "outcome": "positive"}
    data.update(overrides)
    return data


#
# The service
#


def test_an_interaction_with_a_next_contact_plans_it_on_the_managers_agenda(cust_a, mgr_a, tomorrow):
    # given a product to offer
    product = ProductFactory(name="Conveyor")
    # when a call is logged with the next contact
    interaction = interaction_log(
        customer=cust_a,
        manager=mgr_a,
        kind=Interaction.Kind.CALL,
        summary="They want a quote",
        outcome=Interaction.Outcome.POSITIVE,
        next_date=tomorrow,
        next_purpose="Send the quote",
        next_product=product,
    )
    # then the interaction is saved and the next contact is planned from it
    planned = PlannedContact.objects.get()
    assert (planned.customer, planned.manager, planned.due_date) == (cust_a, mgr_a, tomorrow)
    assert (planned.purpose, planned.product, planned.planned_in) == ("Send the quote", product, interaction)
    assert planned.status == PlannedContact.Status.PLANNED
    assert planned.history.first().history_user == mgr_a


def test_an_interaction_without_a_next_contact_plans_nothing(cust_a, mgr_a):
    interaction_log(customer=cust_a, manager=mgr_a, kind="note", summary="Prefers mornings")
    assert Interaction.objects.count() == 1 and not PlannedContact.objects.exists()


def test_logging_the_planned_contact_marks_it_done_in_that_interaction(cust_a, mgr_a):
    # given a contact planned for today
    planned = plan(cust_a, timezone.localdate())
    # when the call is logged as completing it
    interaction = interaction_log(customer=cust_a, manager=mgr_a, kind="call", summary="Done", completes=planned)
    # then it is done, in that interaction, and history says so
    planned.refresh_from_db()
    assert (planned.status, planned.done_in) == (PlannedContact.Status.DONE, interaction)
    assert planned.history.first().status == PlannedContact.Status.DONE


@pytest.mark.parametrize("case", ["other customer", "already done"])
def test_only_an_open_planned_contact_of_the_customer_can_be_completed(case, cust_a, mgr_a):
    other = CustomerFactory(manager=mgr_a)
    planned = plan(other if case == "other customer" else cust_a, timezone.localdate())
    if case == "already done":
        PlannedContact.objects.filter(pk=planned.pk).update(status=PlannedContact.Status.DONE)
    with pytest.raises(ValidationError) as error:
        interaction_log(customer=cust_a, manager=mgr_a, kind="call", summary="x", completes=planned)
    assert "completes" in error.value.message_dict
    assert not Interaction.objects.exists()


def test_a_next_date_needs_a_purpose_and_nothing_is_saved_without_it(cust_a, mgr_a, tomorrow):
    with pytest.raises(ValidationError) as error:
        interaction_log(customer=cust_a, manager=mgr_a, kind="call", summary="x", next_date=tomorrow)
    assert "next_purpose" in error.value.message_dict
    assert not Interaction.objects.exists() and not PlannedContact.objects.exists()


def test_a_contact_person_of_another_customer_is_refused(cust_a, mgr_a):
    stranger = Contact.objects.create(customer=CustomerFactory(manager=mgr_a), name="Stranger")
    with pytest.raises(ValidationError):
        interaction_log(customer=cust_a, manager=mgr_a, kind="call", summary="x", contact=stranger)


def test_a_failure_after_the_interaction_rolls_everything_back(cust_a, mgr_a, tomorrow):
    # given an inactive product, refused only once the interaction is about to be planned
    retired = ProductFactory(is_active=False)
    with pytest.raises(ValidationError):
        interaction_log(
            customer=cust_a,
            manager=mgr_a,
            kind="call",
            summary="x",
            next_date=tomorrow,
            next_purpose="y",
            next_product=retired,
        )
    assert not Interaction.objects.exists() and not PlannedContact.objects.exists()


#
# The quick entry on the card
#


def test_the_card_loads_the_quick_entry_and_shows_the_timeline(cust_a, mgr_a, client_for):
    Interaction.objects.create(customer=cust_a, manager=mgr_a, summary="First meeting", kind="meeting")
    plan(cust_a, timezone.localdate() + timedelta(days=3), purpose="Call about the trial")
    client = client_for(mgr_a)
    card = client.get(cust_a.get_absolute_url()).content.decode()
    url = reverse("customers:interaction_create", args=[cust_a.pk])
    assert f'hx-get="{url}"' in card
    assert "First meeting" in card and "Call about the trial" in card
    form = client.get(url, HTTP_HX_REQUEST="true")
    assert form.status_code == 200 and b"<nav" not in form.content
    assert 'accesskey="l"' in form.content.decode()


def test_the_quick_entry_offers_only_active_products_and_the_customers_contacts(cust_a, mgr_a, client_for):
    active, retired = ProductFactory(name="Sold"), ProductFactory(name="Retired", is_active=False)
    own = Contact.objects.create(customer=cust_a, name="Own Person")
    Contact.objects.create(customer=CustomerFactory(manager=mgr_a), name="Someone Else")
    response = client_for(mgr_a).get(reverse("customers:interaction_create", args=[cust_a.pk]))
    form = response.context["form"]
    assert list(form.fields["next_product"].queryset) == [active]
    assert retired not in form.fields["next_product"].queryset
    # the options drawn (read as values, not instances) are the active products, by their str()
    offered = re.search(r'<select name="next_product"[^>]*>(.*?)</select>', response.content.decode(), re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', offered) == [("", "---------"),
                                                                                   (str(active.pk), str(active))]
    assert list(form.fields["contact"].queryset) == [own]


def test_logging_from_the_card_prepends_the_interaction_and_shows_the_planned_contact(
    cust_a, mgr_a, client_for, tomorrow
):
    # when mgr_a logs a call with a next contact through htmx
    response = client_for(mgr_a).post(
        reverse("customers:interaction_create", args=[cust_a.pk]),
        quick_entry(where="card", next_date=tomorrow, next_purpose="Send the price list"),
        HTTP_HX_REQUEST="true",
    )
    # then the answer holds a fresh form, the new interaction for the top of the timeline,
    # the redrawn planned contacts with the new one, and removes the "no interactions" line
    content = response.content.decode()
    assert response.status_code == 200
    assert 'hx-swap-oob="afterbegin:#timeline"' in content and "Talked about the spring order" in content
    assert 'id="planned-contacts" hx-swap-oob="true"' in content and "Send the price list" in content
    assert 'id="timeline-empty" hx-swap-oob="delete"' in content
    assert response.context["form"].is_bound is False
    assert PlannedContact.objects.get().due_date == tomorrow


def test_a_second_interaction_does_not_try_to_remove_the_empty_line_again(cust_a, mgr_a, client_for):
    Interaction.objects.create(customer=cust_a, manager=mgr_a, summary="Earlier")
    response = client_for(mgr_a).post(
        reverse("customers:interaction_create", args=[cust_a.pk]), quick_entry(), HTTP_HX_REQUEST="true"
    )
    assert b"timeline-empty" not in response.content


def test_logging_without_htmx_redirects_to_the_card_with_a_message(cust_a, mgr_a, client_for, tomorrow):
    response = client_for(mgr_a).post(
        reverse("customers:interaction_create", args=[cust_a.pk]),
        quick_entry(next_date=tomorrow, next_purpose="Visit"),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == cust_a.get_absolute_url()
    assert f"Logged the call with Alpha Works. Next contact on {tomorrow:%d %b %Y}." in response.content.decode()


@pytest.mark.parametrize(
    "fields,error_field",
    [
        ({"next_date": "TOMORROW"}, "next_purpose"),
        ({"next_purpose": "Visit"}, "next_date"),
        ({"next_date": "YESTERDAY", "next_purpose": "Visit"}, "next_date"),
        ({"summary": ""}, "summary"),
        ({"kind": "telegram"}, "kind"),
    ],
)
def test_a_bad_quick_entry_shows_the_field_error_and_saves_nothing(fields, error_field, cust_a, mgr_a, client_for):
    today = timezone.localdate()
    days = {"TOMORROW": today + timedelta(days=1), "YESTERDAY": today - timedelta(days=1)}
    data = quick_entry(**{key: days.get(value, value) for key, value in fields.items()})
    response = client_for(mgr_a).post(
        reverse("customers:interaction_create", args=[cust_a.pk]), data, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert error_field in response.context["form"].errors
    assert "is-invalid" in response.content.decode()
    assert not Interaction.objects.exists() and not PlannedContact.objects.exists()


def test_another_manager_cannot_log_on_a_customer_they_do_not_see(cust_a, mgr_b, client_for):
    url = reverse("customers:interaction_create", args=[cust_a.pk])
    assert client_for(mgr_b).post(url, quick_entry()).status_code == 404
    assert not Interaction.objects.exists()


def test_a_manager_cannot_complete_a_colleagues_planned_contact(mgr_a, mgr_b, client_for):
    # given a pool customer both see, with a contact planned by mgr_a
    pool = CustomerFactory(name="Pool Co", manager=None)
    planned = plan(pool, timezone.localdate(), manager=mgr_a)
    # when mgr_b logs a call claiming to complete it
    response = client_for(mgr_b).post(
        reverse("customers:interaction_create", args=[pool.pk]), quick_entry(completes=planned.pk)
    )
    # then the choice is refused and the contact stays open
    assert "completes" in response.context["form"].errors
    planned.refresh_from_db()
    assert planned.status == PlannedContact.Status.PLANNED


#
# The quick entry on an agenda row
#


def test_logging_from_an_agenda_row_completes_it_and_redraws_the_row(cust_a, mgr_a, client_for, tomorrow):
    # given today's contact, whose row asks for the form
    planned = plan(cust_a, timezone.localdate())
    client = client_for(mgr_a)
    url = reverse("customers:interaction_create", args=[cust_a.pk])
    form = client.get(url, {"where": "agenda", "row": planned.pk}, HTTP_HX_REQUEST="true")
    assert form.context["form"]["completes"].value() == planned.pk
    assert f'id="interaction-form-row{planned.pk}"' in form.content.decode()
    # when the call is logged from the row with a next contact
    response = client.post(
        url,
        quick_entry(where="agenda", row=planned.pk, completes=planned.pk, next_date=tomorrow, next_purpose="Demo"),
        HTTP_HX_REQUEST="true",
    )
    # then the row is redrawn in place as done, pointing at the next contact's day
    assert response["HX-Retarget"] == f"#contact-{planned.pk}" and response["HX-Reswap"] == "outerHTML"
    content = response.content.decode()
    assert "Done: call logged." in content and f"?day={tomorrow:%Y-%m-%d}" in content
    planned.refresh_from_db()
    assert planned.status == PlannedContact.Status.DONE
    assert PlannedContact.objects.filter(status=PlannedContact.Status.PLANNED, due_date=tomorrow).count() == 1


def test_an_agenda_row_of_another_manager_is_a_404(mgr_a, mgr_b, client_for):
    pool = CustomerFactory(name="Pool Co", manager=None)
    planned = plan(pool, timezone.localdate(), manager=mgr_a)
    url = reverse("customers:interaction_create", args=[pool.pk])
    response = client_for(mgr_b).get(url, {"where": "agenda", "row": planned.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404
