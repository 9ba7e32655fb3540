"""Record-level access: another manager's record by URL is a 404, never data."""

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, PlannedContact
from loyalty.models import Card, Program, TierChange
from sales_pipeline.models import Deal, DealDocument
from tests.factories import CustomerFactory
from tests.urlmap import object_url_names

# How to build each id-taking URL for one of mgr_a's records. A new URL that takes an
# id fails test_every_object_url_is_covered until it is added here.
OBJECT_URLS = {
    "customers:customer_detail": lambda objs: {"pk": objs["customer"].pk},
    "customers:customer_update": lambda objs: {"pk": objs["customer"].pk},
    "customers:interaction_create": lambda objs: {"pk": objs["customer"].pk},
    "customers:planned_contact_move": lambda objs: {"pk": objs["planned_contact"].pk},
    "customers:planned_contact_cancel": lambda objs: {"pk": objs["planned_contact"].pk},
    "customers:product_status_update": lambda objs: {"pk": objs["customer"].pk},
    "sales_pipeline:deal_detail": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_update": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_stage_save": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_move": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_lose": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_close": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_payment": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_contract_change": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_document_preview": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_document_generate": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_document_upload": lambda objs: {"pk": objs["deal"].pk},
    "sales_pipeline:deal_document": lambda objs: {"pk": objs["document"].pk},
    "sales_pipeline:deal_document_sent": lambda objs: {"pk": objs["document"].pk},
    "complaints:complaint_detail": lambda objs: {"pk": objs["complaint"].pk},
    "complaints:complaint_advance": lambda objs: {"pk": objs["complaint"].pk},
    "complaints:complaint_reopen": lambda objs: {"pk": objs["complaint"].pk},
    "complaints:complaint_attach": lambda objs: {"pk": objs["complaint"].pk},
    "complaints:attachment": lambda objs: {"pk": objs["attachment"].pk},
    "complaints:survey_fill": lambda objs: {"pk": objs["survey"].pk},
    "loyalty:card_detail": lambda objs: {"pk": objs["card"].pk},
    "loyalty:card_adjust": lambda objs: {"pk": objs["card"].pk},
    "loyalty:card_floor": lambda objs: {"pk": objs["card"].pk},
    "loyalty:card_status": lambda objs: {"pk": objs["card"].pk},
    "loyalty:tier_change_announced": lambda objs: {"pk": objs["tier_change"].pk},
}


# Id-taking URLs whose records belong to no customer or manager, with the reason.
NOT_OWNED = {
    "segmentation:run_progress": "a recompute run is a company-wide job record, with no customer data",
    "sales_pipeline:settlement_import_detail": "an import run belongs to its uploader; others get 404 "
    "(tests/sales_pipeline/test_settlement_views.py)",
    "sales_pipeline:settlement_import_progress": "as settlement_import_detail",
    "survey:public": "a customer's login-free survey link, opened by its secret token, not an id "
    "(tests/complaints/test_public_survey.py)",
    "loyalty:campaign_detail": "a campaign is company-wide (directors' permission); its page lists only the "
    "reader's own customers (tests/loyalty/test_views.py)",
    "loyalty:campaign_start": "as campaign_detail",
    "loyalty:campaign_edit": "as campaign_detail; only directors and administrators may edit "
    "(tests/loyalty/test_campaign_pages.py)",
    "loyalty:campaign_stop": "as campaign_edit",
    "loyalty:campaign_track": "public, reached from an e-mail: the signed token is the key (tests/loyalty)",
    "loyalty:unsubscribe": "as campaign_track",
    "password_reset_confirm": "public, reached from the reset e-mail: the uid and its one-time token are the key "
    "(tests/reliability/test_password_reset.py)",
}


@pytest.fixture
def objects_of_mgr_a(cust_a):
    planned = PlannedContact.objects.create(
        customer=cust_a, manager=cust_a.manager, due_date=timezone.localdate(), purpose="Call back"
    )
    deal = Deal.objects.create(customer=cust_a, manager=cust_a.manager, title="Alpha Works deal", sale_type="long_push")
    document = DealDocument.objects.create(deal=deal, kind="other", title="Alpha Works minutes")
    from complaints.models import Complaint, ComplaintAttachment, Question, Questionnaire, Survey
    from tests.factories import ProductFactory

    complaint = Complaint.objects.create(customer=cust_a, owner=cust_a.manager, description="Alpha Works complaint")
    attachment = ComplaintAttachment.objects.create(complaint=complaint, title="Alpha Works photo", file="x.pdf")
    product = ProductFactory(sku="ACCESS-1")
    questionnaire = Questionnaire.objects.create(name="Access", product=product)
    Question.objects.create(questionnaire=questionnaire, text="Quality")
    survey = Survey.objects.create(customer=cust_a, product=product, questionnaire=questionnaire, channel="call")
    program = Program.objects.create(name="Alpha Works tiers", kind=Program.Kind.TIERED)
    card = Card.objects.create(number="700000000013", program=program, holder=cust_a, issued_on=timezone.localdate())
    tier_change = TierChange.objects.create(card=card, reason="Alpha Works upgrade", date=timezone.localdate())
    return {"customer": cust_a, "planned_contact": planned, "deal": deal, "document": document,
            "complaint": complaint, "attachment": attachment, "survey": survey,
            "card": card, "tier_change": tier_change}


#
# Issue 11: access follows the assignment, on every id URL
#


def _scenario_client(scenario, objects, users, client_for):
    """The user who must get 404 on every object URL of `objects` in `scenario`."""
    from customers.services.agenda import agenda_hand_back, agenda_hand_over
    from customers.services.profiles import customers_reassign

    mgr_a, mgr_b, mgr_c, admin = users
    if scenario == "reassigned":
        # mgr_a's customer (with mgr_a's planned contact and deal) given to mgr_c
        customers_reassign(customers=[objects["customer"]], manager=mgr_c, actor=admin)
        return client_for(mgr_a)
    if scenario == "handed over and returned":
        agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
        agenda_hand_back(from_user=mgr_a, holder=mgr_b, actor=mgr_b)
        return client_for(mgr_b)
    raise AssertionError(scenario)


@pytest.mark.parametrize("scenario", ["reassigned", "handed over and returned"])
@pytest.mark.parametrize("url_name", sorted(OBJECT_URLS))
def test_access_ends_with_the_assignment_on_every_object_url(
    url_name, scenario, objects_of_mgr_a, mgr_a, mgr_b, mgr_c, admin_user, client_for
):
    client = _scenario_client(scenario, objects_of_mgr_a, (mgr_a, mgr_b, mgr_c, admin_user), client_for)
    url = reverse(url_name, kwargs=OBJECT_URLS[url_name](objects_of_mgr_a))
    response = open_url(client, url)
    assert response.status_code == 404
    assert b"Alpha Works" not in response.content


@pytest.mark.parametrize("url_name", sorted(OBJECT_URLS))
def test_the_new_manager_of_a_reassigned_customer_reaches_every_object_url(
    url_name, objects_of_mgr_a, mgr_c, admin_user, client_for
):
    from customers.services.profiles import customers_reassign

    customers_reassign(customers=[objects_of_mgr_a["customer"]], manager=mgr_c, actor=admin_user)
    url = reverse(url_name, kwargs=OBJECT_URLS[url_name](objects_of_mgr_a))
    assert open_url(client_for(mgr_c), url).status_code in (200, 302)


@pytest.fixture
def pool_deal_objects(pool_customer, mgr_a):
    """A deal of mgr_a on a customer still in the pool (as deals opened before the rule)."""
    deal = Deal.objects.create(customer=pool_customer, manager=mgr_a, title="Alpha Works deal", sale_type="long_push")
    document = DealDocument.objects.create(deal=deal, kind="other", title="Alpha Works minutes")
    return {"deal": deal, "document": document}


DEAL_URLS = sorted(name for name in OBJECT_URLS if name.startswith("sales_pipeline:"))


@pytest.mark.parametrize("url_name", DEAL_URLS)
def test_a_pool_customers_deal_is_a_404_for_another_manager_on_every_deal_url(
    url_name, pool_deal_objects, mgr_b, client_for
):
    url = reverse(url_name, kwargs=OBJECT_URLS[url_name](pool_deal_objects))
    response = open_url(client_for(mgr_b), url)
    assert response.status_code == 404
    assert b"Alpha Works" not in response.content


def test_every_object_url_is_covered():
    assert sorted([*OBJECT_URLS, *NOT_OWNED]) == object_url_names()


def open_url(client, url):
    """GET the URL; POST-only actions (405 on GET) are POSTed, empty."""
    response = client.get(url)
    return client.post(url, {}) if response.status_code == 405 else response


@pytest.mark.parametrize("url_name", sorted(OBJECT_URLS))
def test_another_manager_gets_404_on_every_object_url(url_name, objects_of_mgr_a, mgr_b, client_for):
    # given mgr_b, in the same team as mgr_a
    client = client_for(mgr_b)
    url = reverse(url_name, kwargs=OBJECT_URLS[url_name](objects_of_mgr_a))
    # when mgr_b asks for mgr_a's record, then it is not found, and no data leaks
    response = open_url(client, url)
    assert response.status_code == 404
    assert b"Alpha Works" not in response.content
    assert client.post(url, {"name": "Taken over"}).status_code in (404, 405)  # 405: GET-only page


@pytest.mark.parametrize("url_name", sorted(OBJECT_URLS))
def test_the_owner_reaches_every_object_url(url_name, objects_of_mgr_a, mgr_a, client_for):
    url = reverse(url_name, kwargs=OBJECT_URLS[url_name](objects_of_mgr_a))
    assert open_url(client_for(mgr_a), url).status_code in (200, 302)


def test_a_foreign_id_and_a_missing_id_look_the_same(cust_a, mgr_b, client_for):
    client = client_for(mgr_b)
    foreign = client.get(reverse("customers:customer_detail", args=[cust_a.pk]))
    missing = client.get(reverse("customers:customer_detail", args=[cust_a.pk + 1000]))
    assert foreign.status_code == missing.status_code == 404
    assert len(foreign.content) == len(missing.content)


def test_a_post_by_another_manager_changes_nothing(cust_a, mgr_b, client_for):
    before = list(Customer.objects.filter(pk=cust_a.pk).values())
    history_before = cust_a.history.count()
    client_for(mgr_b).post(
        reverse("customers:customer_update", args=[cust_a.pk]), {"name": "Mine now", "kind": "company"}
    )
    assert list(Customer.objects.filter(pk=cust_a.pk).values()) == before
    assert cust_a.history.count() == history_before


def test_managers_see_their_own_customers_and_the_pool(cust_a, cust_c, pool_customer, mgr_a, mgr_b):
    assert set(Customer.objects.visible_to(mgr_a)) == {cust_a, pool_customer}
    assert set(Customer.objects.visible_to(mgr_b)) == {pool_customer}


def test_a_director_sees_the_teams_they_direct_only(cust_a, cust_c, pool_customer, mgr_b, dir_1, client_for):
    cust_b = CustomerFactory(manager=mgr_b)
    assert set(Customer.objects.visible_to(dir_1)) == {cust_a, cust_b, pool_customer}
    client = client_for(dir_1)
    assert client.get(cust_a.get_absolute_url()).status_code == 200
    assert client.get(cust_c.get_absolute_url()).status_code == 404


def test_a_director_of_two_teams_sees_each_customer_once(cust_a, cust_c, dir_1, team_2, mgr_a):
    team_2.directors.add(dir_1)
    other_director_of_t1 = CustomerFactory(manager=mgr_a)  # noqa: F841 - a second customer of T1
    ids = list(Customer.objects.visible_to(dir_1).values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 3


def test_a_directors_sight_follows_the_teams_on_the_next_request(cust_a, cust_c, mgr_a, mgr_c, dir_1, team_1,
                                                                   team_2, client_for):
    """The directed managers are read once per request (literal ids in the queries): a
    manager moved to another team, or a team given to the director, counts at the next page."""
    from customers.models import TeamMembership

    client = client_for(dir_1)
    assert client.get(cust_a.get_absolute_url()).status_code == 200
    assert client.get(cust_c.get_absolute_url()).status_code == 404
    TeamMembership.objects.filter(user=mgr_a).update(team=team_2)
    assert client.get(cust_a.get_absolute_url()).status_code == 404
    team_2.directors.add(dir_1)
    assert client.get(cust_a.get_absolute_url()).status_code == 200
    assert client.get(cust_c.get_absolute_url()).status_code == 200


def test_admins_and_view_all_permission_see_everything(cust_a, cust_c, admin_user, mgr_b):
    assert Customer.objects.visible_to(admin_user).count() == 2
    from django.contrib.auth.models import Permission

    mgr_b.user_permissions.add(Permission.objects.get(codename="view_all_customers"))
    mgr_b = type(mgr_b).objects.get(pk=mgr_b.pk)  # fresh permission cache
    assert Customer.objects.visible_to(mgr_b).count() == 2


def test_inactive_and_roleless_users_see_nothing(cust_a, mgr_a, django_user_model):
    roleless = django_user_model.objects.create_user("nobody", password="x" * 12)
    assert Customer.objects.visible_to(roleless).count() == 0
    mgr_a.is_active = False
    assert Customer.objects.visible_to(mgr_a).count() == 0


def test_the_export_holds_exactly_the_rows_of_the_users_list(cust_a, cust_c, pool_customer, mgr_b, client_for):
    own = CustomerFactory(name="Bravo Bakery", manager=mgr_b)
    csv = client_for(mgr_b).get(reverse("customers:customer_list"), {"_export": "csv"}).content.decode()
    assert own.name in csv and pool_customer.name in csv
    assert cust_a.name not in csv and cust_c.name not in csv


def test_the_global_search_finds_nothing_outside_the_scope(cust_a, mgr_b, client_for):
    response = client_for(mgr_b).get(reverse("search"), {"q": "Alpha Works"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert cust_a.get_absolute_url().encode() not in response.content
    assert b"No match" in response.content


def test_a_manager_cannot_assign_a_customer_by_posting_a_manager(mgr_b, mgr_a, client_for):
    # given the form has no manager field for managers, a posted one is ignored
    client_for(mgr_b).post(
        reverse("customers:customer_create"), {"kind": "company", "name": "Sneaky Ltd", "manager": mgr_a.pk}
    )
    assert Customer.objects.get(name="Sneaky Ltd").manager == mgr_b


def test_a_director_assigns_only_within_their_teams(dir_1, mgr_a, mgr_c, client_for):
    client = client_for(dir_1)
    url = reverse("customers:customer_create")
    refused = client.post(url, {"kind": "company", "name": "Elsewhere Ltd", "manager": mgr_c.pk})
    assert refused.status_code == 200 and "manager" in refused.context["form"].errors
    client.post(url, {"kind": "company", "name": "Here Ltd", "manager": mgr_a.pk})
    assert Customer.objects.get(name="Here Ltd").manager == mgr_a


def test_admin_site_is_closed_to_managers(mgr_a, client_for):
    response = client_for(mgr_a).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_customers_handed_over_to_a_manager_are_in_their_scope_through_in_array(
    cust_a, cust_c, pool_customer, mgr_a, mgr_b
):
    """A manager's scope reads the customers handed over to them with `__in_array`
    (crm_project.lookups: `= ANY(ARRAY(...))` on PostgreSQL, `IN` elsewhere): the same rows,
    for customers and for rows hanging off them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from complaints.models import Complaint
    from tests.factories import CustomerFactory

    handed = CustomerFactory(manager=mgr_a)
    PlannedContact.objects.create(
        customer=handed, manager=mgr_b, handed_over_from=mgr_a, due_date=timezone.localdate(), purpose="Call"
    )
    with CaptureQueriesContext(connection) as queries:
        visible = set(Customer.objects.visible_to(mgr_b))
    assert visible == {handed, pool_customer}
    sql = queries.captured_queries[-1]["sql"]
    assert ("= ANY(ARRAY(SELECT" in sql) == (connection.vendor == "postgresql")
    of_mgr_a = Customer.objects.filter(manager=mgr_a).values("pk")
    assert set(Customer.objects.filter(pk__in_array=of_mgr_a)) == {cust_a, handed}
    assert not Customer.objects.filter(pk__in_array=Customer.objects.none().values("pk")).exists()
    complaint = Complaint.objects.create(customer=handed, description="Late", owner=mgr_a)
    Complaint.objects.create(customer=cust_c, description="Other", owner=mgr_a)
    assert list(Complaint.objects.visible_to(mgr_b)) == [complaint]


@pytest.mark.parametrize("who", ["mgr_a", "mgr_b", "mgr_c", "dir_1", "admin_user"])
def test_the_manager_filter_offers_exactly_the_managers_of_the_visible_customers(
    who, request, cust_a, cust_c, pool_customer, mgr_a, mgr_b, mgr_c, dir_1, admin_user
):
    """managers_visible tests "manages a customer" for its candidates, not the user's
    scope: the same options as the managers of every customer the user sees, for each
    role, with a contact handed over (mgr_a to mgr_b), a director's own customer and a
    manager (mgr_c's colleague-less team) whose customers a director of T1 does not see."""
    from types import SimpleNamespace

    from customers.access import managers_visible

    handed = CustomerFactory(manager=mgr_a)
    PlannedContact.objects.create(
        customer=handed, manager=mgr_b, handed_over_from=mgr_a, due_date=timezone.localdate(), purpose="Call"
    )
    # a contact handed over by a colleague who no longer manages its customer gives nothing
    moved = CustomerFactory(manager=mgr_c)
    PlannedContact.objects.create(
        customer=moved, manager=mgr_b, handed_over_from=mgr_a, due_date=timezone.localdate(), purpose="Call"
    )
    CustomerFactory(manager=dir_1)
    user = request.getfixturevalue(who)
    expected = set(Customer.objects.visible_to(user).exclude(manager=None).values_list("manager__username", flat=True))
    offered = [u.username for u in managers_visible(SimpleNamespace(user=user))]
    assert set(offered) == expected and offered == sorted(offered)
    assert expected  # every persona sees some managed customer here
    # the list's options, read through the statement compiled per scope, are the same rows
    from customers.filters import _MANAGER_OPTIONS

    rows = [(u.pk, u.username) for u in managers_visible(SimpleNamespace(user=user))]
    assert _MANAGER_OPTIONS(SimpleNamespace(user=user)) == rows


def test_the_manager_filter_builds_its_queryset_only_to_check_a_chosen_manager(mgr_a, mgr_c, client_for, monkeypatch):
    """The customer list's manager options come from a statement compiled once per scope;
    the filter's queryset (managers_visible) is built only when a manager is chosen, and
    still refuses one whose customers the user does not see."""
    from customers import filters

    # given the list's manager filter with its queryset function counted
    built = []
    manager_filter = filters.CustomerFilterSet.base_filters["manager"]
    original = manager_filter.queryset
    monkeypatch.setattr(manager_filter, "queryset", lambda request: built.append(1) or original(request))
    CustomerFactory(manager=mgr_a, name="Mine")
    CustomerFactory(manager=mgr_c, name="Not mine")
    client = client_for(mgr_a)
    # when the list is shown without a chosen manager: options, but no queryset built
    page = client.get("/customers/")
    assert page.status_code == 200 and not built
    assert f'<option value="{mgr_a.pk}">{mgr_a.username}</option>' in page.content.decode()
    # when the user's own manager is chosen: built once, and the list filtered
    mine = client.get("/customers/", {"manager": mgr_a.pk})
    assert len(built) == 1 and "Mine" in mine.content.decode()
    # when another team's manager is typed in: refused, no rows
    other = client.get("/customers/", {"manager": mgr_c.pk})
    assert "Not mine" not in other.content.decode()
    assert "Select a valid choice" in other.content.decode()
