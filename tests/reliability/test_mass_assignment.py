"""AC-05 mass assignment: every create/edit form of the product posted with fields the
role may not set (manager/owner, team, status, stage, amounts, ids, timestamps, another
customer's rows). The request may succeed, but those fields keep the values the rules
give them and history records no such change."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint, Survey
from customers.models import Contact, Customer, Interaction
from loyalty.models import Campaign, Card, Program
from sales_pipeline.models import Deal, Stage
from tests.factories import CustomerFactory, ProductFactory
from tests.sales_pipeline.test_pipeline import open_deal

LONG_AGO = "2001-01-01T00:00"


def forged(*, other_user, other_team, other_customer):
    """The fields nobody may set through a form, with values that would be noticed."""
    return {
        "id": 987654,
        "pk": 987654,
        "manager": other_user.pk,
        "owner": other_user.pk,
        "created_by": other_user.pk,
        "team": other_team.pk,
        "customer_class": "A",
        "segment": "1",
        "status": "won",
        "stage": str(Stage.CLOSING),
        "step": "closed",
        "kind": "explicit",
        "amount": "999999.00",
        "balance": "1000000",
        "tier": "1",
        "closed_at": LONG_AGO,
        "created_at": LONG_AGO,
        "registered_at": LONG_AGO,
        "stage_entered_at": LONG_AGO,
        "answered_at": LONG_AGO,
        "sent_at": LONG_AGO,
        "started_on": "2001-01-01",
        "token_hash": "f" * 64,
        "offer_revisions": "9",
        "reopen_count": "9",
        "normalized_name": "forged",
    }


@pytest.fixture
def forged_fields(mgr_a, team_2, cust_a):
    return forged(other_user=mgr_a, other_team=team_2, other_customer=cust_a)


@pytest.fixture
def own_customer(mgr_b):
    return CustomerFactory(name="Bravo Bakery", manager=mgr_b)


def _formset(prefix, total=0, initial=0):
    return {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": initial,
            f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}  # fmt: skip


def _recent(moment):
    return moment is None or moment > timezone.now() - timedelta(hours=1)


#
# Customers and their contacts
#


def test_creating_a_customer_ignores_owner_team_class_and_ids(mgr_b, forged_fields, client_for):
    data = {**forged_fields, "kind": "company", "name": "Sneaky Ltd", **_formset("contacts"), **_formset("competitors")}
    response = client_for(mgr_b).post(reverse("customers:customer_create"), data)
    assert response.status_code == 302
    customer = Customer.objects.get(name="Sneaky Ltd")
    assert customer.manager == mgr_b and customer.pk != 987654
    assert customer.segment_id is None and customer.normalized_name != "forged" and _recent(customer.created_at)
    assert not customer.history.exclude(manager=mgr_b).exists()


def test_editing_a_customer_keeps_its_manager_and_touches_no_other_customers_contact(
    mgr_b, own_customer, cust_a, forged_fields, client_for
):
    theirs = Contact.objects.create(customer=cust_a, name="Anna Alpha", email="anna@alpha.example")
    data = {
        **forged_fields,
        "kind": "company",
        "name": "Bravo Bakery renamed",
        # the contact formset names cust_a's contact by id and points a new row at cust_a
        **_formset("contacts", total=2, initial=1),
        "contacts-0-id": theirs.pk,
        "contacts-0-name": "Taken over",
        "contacts-0-customer": cust_a.pk,
        "contacts-1-name": "New row",
        "contacts-1-customer": cust_a.pk,
        **_formset("competitors"),
    }
    history_before = own_customer.history.count()
    client_for(mgr_b).post(reverse("customers:customer_update", args=[own_customer.pk]), data)
    own_customer.refresh_from_db()
    assert own_customer.manager == mgr_b and own_customer.segment_id is None
    assert Customer.objects.filter(pk=987654).count() == 0
    theirs.refresh_from_db()
    assert (theirs.customer, theirs.name) == (cust_a, "Anna Alpha")
    assert list(cust_a.contacts.values_list("name", flat=True)) == ["Anna Alpha"]
    assert not own_customer.history.exclude(manager=mgr_b).exists()
    assert own_customer.history.count() <= history_before + 1


def test_logging_an_interaction_records_the_author_and_the_customer_of_the_url(
    mgr_b, own_customer, cust_a, forged_fields, client_for
):
    data = {**forged_fields, "customer": cust_a.pk, "kind": "call", "summary": "Called"}
    client_for(mgr_b).post(reverse("customers:interaction_create", args=[own_customer.pk]), data)
    interaction = Interaction.objects.get(summary="Called")
    assert (interaction.customer, interaction.manager) == (own_customer, mgr_b)
    assert not Interaction.objects.filter(customer=cust_a).exists()


#
# Deals
#


def test_opening_a_deal_ignores_manager_stage_status_and_amount(mgr_b, own_customer, forged_fields, client_for):
    data = {**forged_fields, "customer": own_customer.pk, "title": "Forged deal", "sale_type": "long_pull",
            **_formset("lines")}  # fmt: skip
    response = client_for(mgr_b).post(reverse("sales_pipeline:deal_create"), data)
    assert response.status_code == 302
    deal = Deal.objects.get(title="Forged deal")
    assert (deal.manager, deal.stage, deal.status, deal.amount) == (mgr_b, Stage.PRESENTATION, "open", 0)
    assert deal.pk != 987654 and deal.offer_revisions == 0 and deal.closed_at is None
    assert _recent(deal.created_at) and _recent(deal.stage_entered_at)


def _deal_state(deal):
    return (
        Deal.objects.filter(pk=deal.pk)
        .values(
            "customer",
            "manager",
            "stage",
            "status",
            "amount",
            "closed_at",
            "created_at",
            "stage_entered_at",
            "offer_revisions",
            "lost_reason",
        )
        .get()
    )


@pytest.mark.parametrize("url_name", ["sales_pipeline:deal_update", "sales_pipeline:deal_stage_save"])
def test_editing_a_deal_changes_neither_its_customer_manager_stage_status_nor_amount(
    url_name, mgr_b, own_customer, cust_a, forged_fields, client_for
):
    deal = open_deal(mgr_b, own_customer, lines=[(Decimal("100.00"), 1, 0)])
    before = _deal_state(deal)
    line = deal.lines.get()
    data = {
        **forged_fields,
        "customer": cust_a.pk,
        "title": "Renamed",
        "sale_type": deal.sale_type,
        "minutes_sent": timezone.localdate().isoformat(),
        # the line formset, unchanged (naming another deal as the parent is refused by the formset)
        **_formset("lines", total=1, initial=1),
        "lines-0-id": line.pk,
        "lines-0-deal": deal.pk,
        "lines-0-product": line.product_id,
        "lines-0-quantity": "1",
        "lines-0-price": "100.00",
        "lines-0-discount": "0",
    }
    response = client_for(mgr_b).post(reverse(url_name, args=[deal.pk]), data)
    assert response.status_code in (200, 302), response.context and response.context["form"].errors
    deal.refresh_from_db()
    assert deal.minutes_sent == timezone.localdate()  # the permitted field was saved
    assert _deal_state(deal) == before


def test_a_director_cannot_give_a_deal_to_a_manager_outside_their_teams(dir_1, mgr_a, mgr_c, forged_fields, client_for):
    deal = open_deal(mgr_a)
    data = {"title": deal.title, "sale_type": deal.sale_type, "manager": mgr_c.pk, **_formset("lines")}
    client_for(dir_1).post(reverse("sales_pipeline:deal_update", args=[deal.pk]), data)
    deal.refresh_from_db()
    assert deal.manager == mgr_a


#
# Complaints and surveys
#


def test_registering_a_complaint_ignores_owner_step_and_counters(mgr_b, own_customer, forged_fields, client_for):
    data = {**forged_fields, "customer": own_customer.pk, "channel": "phone", "severity": "low",
            "description": "Forged complaint"}  # fmt: skip
    response = client_for(mgr_b).post(reverse("complaints:complaint_create"), data)
    assert response.status_code == 302
    complaint = Complaint.objects.get(description="Forged complaint")
    assert (complaint.owner, complaint.created_by, complaint.step, complaint.kind) == (
        mgr_b,
        mgr_b,
        "registered",
        "registered",
    )
    assert complaint.pk != 987654 and complaint.reopen_count == 0 and complaint.closed_at is None
    assert _recent(complaint.registered_at)


def test_advancing_a_complaint_moves_one_step_and_keeps_owner_and_customer(
    mgr_b, own_customer, cust_a, forged_fields, client_for
):
    from complaints import services

    complaint = services.complaint_register(customer=own_customer, owner=mgr_b, description="x", actor=mgr_b)
    data = {**forged_fields, "customer": cust_a.pk, "text": "Looked into it"}
    client_for(mgr_b).post(reverse("complaints:complaint_advance", args=[complaint.pk]), data)
    complaint.refresh_from_db()
    assert (complaint.step, complaint.owner, complaint.customer, complaint.kind) == (
        "investigating",
        mgr_b,
        own_customer,
        "registered",
    )
    assert complaint.closed_at is None and complaint.reopen_count == 0


def test_starting_a_survey_ignores_its_token_and_answer_dates(mgr_b, own_customer, forged_fields, client_for):
    from complaints.models import Question, Questionnaire

    product = ProductFactory(sku="MA-1")
    questionnaire = Questionnaire.objects.create(name="Quality", product=product)
    Question.objects.create(questionnaire=questionnaire, text="Quality")
    data = {**forged_fields, "customer": own_customer.pk, "product": product.pk, "channel": "call"}
    client_for(mgr_b).post(reverse("complaints:survey_start"), data)
    survey = Survey.objects.get()
    assert survey.customer == own_customer and survey.pk != 987654
    assert survey.answered_at is None and survey.sent_at is None and survey.token_hash != "f" * 64
    assert _recent(survey.created_at)


#
# Loyalty
#


def test_issuing_a_card_ignores_balance_tier_and_status(mgr_b, own_customer, forged_fields, client_for):
    program = Program.objects.create(name="Points", kind=Program.Kind.TIERED)
    data = {**forged_fields, "program": program.pk, "holder": own_customer.pk, "number": "700000000013"}
    response = client_for(mgr_b).post(reverse("loyalty:card_issue"), data)
    assert response.status_code == 302
    card = Card.objects.get(holder=own_customer)
    assert card.balance == 0 and card.tier_id is None and card.status == Card.Status.ACTIVE
    assert card.pk != 987654


def test_creating_a_campaign_ignores_status_author_and_start(dir_1, mgr_a, forged_fields, client_for):
    data = {
        **forged_fields,
        "status": "running",
        "name": "Forged campaign",
        "statuses": ["lost"],
        "no_purchase_months": "",
        **_formset("steps", total=1),
        "steps-0-delay_days": "0",
        "steps-0-subject": "Hello",
        "steps-0-body": "Hi {{ customer }}",
        "steps-0-position": "9",
    }
    response = client_for(dir_1).post(reverse("loyalty:campaign_create"), data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    campaign = Campaign.objects.get(name="Forged campaign")
    assert (campaign.status, campaign.created_by, campaign.started_on) == (Campaign.Status.DRAFT, dir_1, None)
    assert list(campaign.steps.values_list("position", flat=True)) == [1]


def test_marking_a_tier_change_announced_never_redirects_off_site(objects_of_mgr_a, mgr_a, client_for):
    # SEC-14 on a form's `next`: another site is replaced by the card's page
    change = objects_of_mgr_a["tier_change"]
    url = reverse("loyalty:tier_change_announced", args=[change.pk])
    client = client_for(mgr_a)
    for target in ("https://evil.example/", "//evil.example/x"):
        response = client.post(url, {"next": target})
        assert response.status_code == 302 and response["Location"] == change.card.get_absolute_url()
    assert client.post(url, {"next": "/loyalty/"})["Location"] == "/loyalty/"
