"""Issue 11, items 1-3: access follows the assignment, deals of pool customers, and
directors' scope with hand-overs only within the team. Each test is named for the
behaviour that was wrong before the fix."""

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, PlannedContact
from customers.services.agenda import agenda_hand_back, agenda_hand_over, interaction_log
from customers.services.profiles import customers_reassign
from sales_pipeline.models import Deal
from tests.customers.test_customer_import import csv_bytes, row, run
from tests.customers.test_profile import post_customer
from tests.factories import CustomerFactory

PLANNED = PlannedContact.Status.PLANNED


def plan(customer, manager, purpose="Call back", **extra):
    return PlannedContact.objects.create(
        customer=customer, manager=manager, due_date=timezone.localdate(), purpose=purpose, **extra
    )


def open_deal(customer, manager, title="Deal", **extra):
    return Deal.objects.create(customer=customer, manager=manager, title=title, sale_type="long_push", **extra)


def card(client, customer):
    return client.get(reverse("customers:customer_detail", args=[customer.pk]))


#
# 1. Access follows the assignment
#


def test_a_planned_contact_alone_gives_no_access_to_another_managers_customer(cust_a, mgr_b, client_for):
    # given mgr_b once planned a contact with mgr_a's customer (nobody handed it over)
    plan(cust_a, mgr_b)
    # then mgr_b does not see the customer
    assert cust_a not in Customer.objects.visible_to(mgr_b)
    assert card(client_for(mgr_b), cust_a).status_code == 404


def test_a_reassigned_customer_is_closed_to_the_old_manager_who_had_a_planned_contact(
    cust_a, mgr_a, mgr_c, admin_user, client
):
    # given mgr_a's customer with mgr_a's open planned contact and open deal
    contact = plan(cust_a, mgr_a)
    deal = open_deal(cust_a, mgr_a)
    # when an administrator gives the customer to mgr_c (another team) on the edit page
    client.force_login(admin_user)
    response = post_customer(client, cust_a, name=cust_a.name, manager=mgr_c.pk)
    assert response.status_code == 302
    # then the contact and the deal went with it, each with a history row naming who
    contact.refresh_from_db()
    deal.refresh_from_db()
    assert (contact.manager, deal.manager) == (mgr_c, mgr_c)
    newest = contact.history.first()
    assert (newest.history_user, newest.history_change_reason) == (admin_user, "reassigned")
    assert deal.history.first().history_user == admin_user
    # and mgr_a no longer opens the card nor the edit form; mgr_c does
    client.force_login(mgr_a)
    assert card(client, cust_a).status_code == 404
    assert client.get(reverse("customers:customer_update", args=[cust_a.pk])).status_code == 404
    client.force_login(mgr_c)
    assert card(client, cust_a).status_code == 200


def test_reassigning_moves_only_open_work_and_ends_a_hand_over(cust_a, mgr_a, mgr_b, mgr_c, dir_1):
    done = plan(cust_a, mgr_a, status=PlannedContact.Status.DONE)
    covered = plan(cust_a, mgr_a, purpose="While away")
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    won = open_deal(cust_a, mgr_a, status=Deal.Status.WON)
    other_customer = CustomerFactory(manager=mgr_a)
    untouched = plan(other_customer, mgr_a)
    assert cust_a in Customer.objects.visible_to(mgr_b)  # covering mgr_a while away

    assert customers_reassign(customers=[cust_a], manager=mgr_c, actor=dir_1) == 1

    for item in (done, covered, won, untouched):
        item.refresh_from_db()
    assert done.manager == mgr_a and won.manager == mgr_a  # what was done stays with who did it
    assert covered.manager == mgr_c and covered.handed_over_from is None
    assert untouched.manager == mgr_a
    assert cust_a not in Customer.objects.visible_to(mgr_b)
    assert cust_a not in Customer.objects.visible_to(mgr_a)
    history = cust_a.history.first()
    assert (history.manager_id, history.history_user, history.history_change_reason) == (mgr_c.pk, dir_1, "reassigned")


def test_the_import_moves_open_contacts_and_deals_with_the_customer(mgr_a, mgr_b, dir_1):
    customer = CustomerFactory(manager=mgr_a, external_ref="A-1", name="Alpha")
    contact, deal = plan(customer, mgr_a), open_deal(customer, mgr_a)
    result = run(csv_bytes([row(external_ref="A-1", name="Alpha", manager="mgr_b")]), dir_1)
    assert result.errors == [] and result.updated == 1
    contact.refresh_from_db()
    deal.refresh_from_db()
    assert (contact.manager, deal.manager) == (mgr_b, mgr_b)
    assert contact.history.first().history_change_reason.startswith("Import ")
    assert customer not in Customer.objects.visible_to(mgr_a)


def test_the_admin_reassignment_moves_the_open_work_too(cust_a, mgr_a, mgr_c, admin_user, client):
    contact = plan(cust_a, mgr_a)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:customers_customer_change", args=[cust_a.pk]),
        {"kind": "company", "name": cust_a.name, "manager": mgr_c.pk, "created_at_0": "2020-01-01",
         "created_at_1": "00:00:00", **{f"{prefix}-{key}": 0 for prefix in ("contacts", "competitor_links")
                                        for key in ("TOTAL_FORMS", "INITIAL_FORMS")}},
    )  # fmt: skip
    assert response.status_code == 302, response.context["errors"]
    contact.refresh_from_db()
    assert contact.manager == mgr_c


def test_returning_a_handed_over_agenda_ends_the_colleagues_access(cust_a, mgr_a, mgr_b, client_for):
    contact = plan(cust_a, mgr_a)
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    client = client_for(mgr_b)
    assert card(client, cust_a).status_code == 200
    # when mgr_b returns what they hold from mgr_a, from their agenda
    response = client.post(reverse("customers:agenda_hand_back"), {"from_user": mgr_a.pk})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.manager, contact.handed_over_from) == (mgr_a, None)
    assert contact.history.first().history_change_reason == "handed back"
    assert card(client, cust_a).status_code == 404


def test_the_owner_takes_the_agenda_back_and_the_next_contact_planned_while_covering_comes_too(cust_a, mgr_a, mgr_b):
    first = plan(cust_a, mgr_a)
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    first.refresh_from_db()
    # mgr_b makes the call and plans the next one, still covering
    interaction_log(
        customer=cust_a, manager=mgr_b, kind="call", summary="Done", completes=first,
        next_date=timezone.localdate(), next_purpose="Follow up",
    )  # fmt: skip
    follow_up = PlannedContact.objects.get(purpose="Follow up")
    assert follow_up.handed_over_from == mgr_a and cust_a in Customer.objects.visible_to(mgr_b)
    assert agenda_hand_back(from_user=mgr_a, actor=mgr_a) == 1
    follow_up.refresh_from_db()
    assert follow_up.manager == mgr_a
    assert cust_a not in Customer.objects.visible_to(mgr_b)


def test_a_colleague_cannot_end_someone_elses_hand_over(cust_a, mgr_a, mgr_b, mgr_c, client_for):
    plan(cust_a, mgr_a)
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    response = client_for(mgr_c).post(reverse("customers:agenda_hand_back"), {"from_user": mgr_a.pk})
    assert response.status_code == 302  # mgr_c holds nothing from mgr_a: nothing moves
    assert PlannedContact.objects.get(customer=cust_a).manager == mgr_b


def test_the_agenda_lists_the_hand_overs_in_force_with_their_buttons(cust_a, mgr_a, mgr_b, client_for):
    plan(cust_a, mgr_a)
    plan(cust_a, mgr_a, purpose="Second")
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    owner_page = client_for(mgr_a).get(reverse("customers:agenda")).content.decode()
    assert "2 open contacts with mgr_b" in owner_page and "Take the agenda back" in owner_page
    holder_page = client_for(mgr_b).get(reverse("customers:agenda")).content.decode()
    assert "2 open contacts from mgr_a" in holder_page and "Return to mgr_a" in holder_page


#
# 2. Deals of unassigned customers
#


def test_opening_a_deal_on_a_pool_customer_assigns_it_to_the_deals_manager(pool_customer, mgr_b, client_for):
    client = client_for(mgr_b)
    response = client.post(
        reverse("sales_pipeline:deal_create"),
        {"customer": pool_customer.pk, "title": "First order", "sale_type": "long_pull",
         "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0},
    )  # fmt: skip
    assert response.status_code == 302
    pool_customer.refresh_from_db()
    assert pool_customer.manager == mgr_b
    history = pool_customer.history.first()
    assert (history.manager_id, history.history_user, history.history_change_reason) == (
        mgr_b.pk,
        mgr_b,
        "assigned by a new deal",
    )
    assert history.prev_record.manager_id is None


def test_a_director_must_name_the_manager_of_a_deal_on_a_pool_customer(pool_customer, mgr_a, dir_1, client_for):
    response = client_for(dir_1).post(
        reverse("sales_pipeline:deal_create"),
        {"customer": pool_customer.pk, "title": "First order", "sale_type": "long_pull",
         "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0},
    )  # fmt: skip
    assert response.status_code == 200 and "manager" in response.context["form"].errors
    assert not Deal.objects.exists()


def test_a_pool_customers_deal_is_not_every_managers(pool_customer, mgr_a, mgr_b, mgr_c, dir_1, client_for):
    # given a deal of mgr_a on a customer still in the pool (as before this rule existed)
    deal = open_deal(pool_customer, mgr_a, title="Pool Deal Secret")
    assert set(Deal.objects.visible_to(mgr_a)) == {deal}
    assert set(Deal.objects.visible_to(dir_1)) == {deal}  # mgr_a's director
    assert not Deal.objects.visible_to(mgr_b).exists()
    client = client_for(mgr_b)
    assert client.get(deal.get_absolute_url()).status_code == 404
    for page in ("sales_pipeline:deal_list", "sales_pipeline:deal_board"):
        assert "Pool Deal Secret" not in client.get(reverse(page)).content.decode()
    export = client.get(reverse("sales_pipeline:deal_list"), {"_export": "csv"}).content.decode()
    assert "Pool Deal Secret" not in export
    # nor on the pool customer's card, which mgr_b may open
    response = card(client, pool_customer)
    assert response.status_code == 200 and "Pool Deal Secret" not in response.content.decode()
    assert "Pool Deal Secret" in card(client_for(mgr_a), pool_customer).content.decode()


def test_a_deal_is_visible_to_its_manager_and_to_the_customers_manager(cust_a, mgr_a, mgr_b):
    deal = open_deal(cust_a, mgr_b)
    assert deal in Deal.objects.visible_to(mgr_a) and deal in Deal.objects.visible_to(mgr_b)


#
# 3. Directors' scope: the teams they direct; hand-over within the team
#


def test_a_director_does_not_see_another_teams_deal_on_a_pool_customer(pool_customer, mgr_c, dir_1, client_for):
    deal = open_deal(pool_customer, mgr_c)
    assert not Deal.objects.visible_to(dir_1).exists()
    assert client_for(dir_1).get(deal.get_absolute_url()).status_code == 404


def test_the_hand_over_form_refuses_a_manager_of_another_team_with_a_field_error(
    cust_a, mgr_a, mgr_b, mgr_c, dir_1, client_for
):
    contact = plan(cust_a, mgr_a)
    response = client_for(dir_1).post(
        reverse("customers:agenda_hand_over"), {"manager": mgr_a.pk, "to_user": mgr_c.pk}
    )
    assert response.status_code == 200
    assert response.context["hand_over_form"].errors["to_user"] == [
        "An agenda is handed over only within the team: pick an active manager of the same team."
    ]
    contact.refresh_from_db()
    assert contact.manager == mgr_a
    choices = {user.pk for user in response.context["hand_over_form"].fields["to_user"].queryset}
    assert choices == {mgr_b.pk}


def test_an_administrator_hands_over_within_the_team_too(cust_a, mgr_a, mgr_c, admin_user):
    plan(cust_a, mgr_a)
    with pytest.raises(Exception, match="only within the team"):
        agenda_hand_over(from_user=mgr_a, to_user=mgr_c, actor=admin_user)


def test_a_colleague_covering_an_agenda_does_not_see_the_managers_deal_on_its_rows(cust_a, mgr_a, mgr_b, client_for):
    plan(cust_a, mgr_a)
    open_deal(cust_a, mgr_a, title="Covered Deal", amount=1234)
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    rows = client_for(mgr_b).get(reverse("customers:agenda")).context["rows"]
    assert [row.customer_id for row in rows] == [cust_a.pk]
    assert rows[0].dossier_items == []  # no "Open deal" line (hooks.AGENDA_DOSSIER)
    owner_rows = client_for(mgr_a).get(reverse("customers:agenda"), {"manager": ""}).context["rows"]
    assert owner_rows == []  # handed over: no longer on mgr_a's agenda
