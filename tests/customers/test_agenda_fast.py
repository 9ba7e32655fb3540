"""Issue 15, the agenda's fifth-round changes kept exact: the page's rows drawn in one
go, the scope left out only where it adds nothing, (month, day) windows as ranges, the
truncation's short cut, and the columns a row reads fetched with it."""

import itertools
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Q
from django.template.defaultfilters import truncatechars
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.access import customer_scope, managed_scope, own_customers_scope, own_records_scope
from customers.agenda_row import _summary, render_agenda_row, render_agenda_rows
from customers.models import Contact, Customer, Interaction, PlannedContact, PortraitEntry, Segment
from customers.selectors.agenda import _window, agenda_dossier, agenda_overdue, month_day_in
from sales_pipeline.models import Deal
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 11)


def fresh(user):
    return type(user).objects.get(pk=user.pk)  # a new request's user: no cached role or permissions


def test_the_pages_rows_in_one_go_are_the_rows_one_by_one(mgr_a, mgr_b):
    # given rows with every badge: overdue, a product, handed over, a phone, a last interaction
    # with a long summary, characters to escape
    product = ProductFactory(name="Boiler <XL>")
    customers = [
        CustomerFactory(manager=mgr_a, name='Oak & "Sons" <Ltd>', phone="+44 1 & 2"),
        CustomerFactory(manager=mgr_a, name="Plain Co", phone=""),
    ]
    PlannedContact.objects.create(customer=customers[0], manager=mgr_a, due_date=TODAY - timedelta(days=3),
                                  purpose="Chase <quote>", product=product, handed_over_from=mgr_b)  # fmt: skip
    PlannedContact.objects.create(customer=customers[1], manager=mgr_a, due_date=TODAY - timedelta(days=1),
                                  purpose="Call")  # fmt: skip
    Interaction.objects.create(customer=customers[0], manager=mgr_a, summary="Said <no> & " + "x" * 130)
    rows = agenda_dossier(agenda_overdue(mgr_a, TODAY), today=TODAY, viewer=mgr_a)
    assert len(rows) == 2
    page = {"today": TODAY, "next_url": "/customers/agenda/?day=2026-03-11&x=<1>", "csrf_token": "t<k>", "user_pk": 7}
    # when drawn in one go and one by one
    together = str(render_agenda_rows(rows, separator="|", **page))
    # then the same markup, every value escaped
    assert together == "".join(str(render_agenda_row(row, **page)) + "|" for row in rows)
    assert "Oak &amp; &quot;Sons&quot; &lt;Ltd&gt;" in together and "<Ltd>" not in together
    assert "Chase &lt;quote&gt;" in together and "Boiler &lt;XL&gt;" in together
    assert "next=%2Fcustomers%2Fagenda%2F%3Fday%3D2026-03-11%26x%3D%3C1%3E" in together
    assert 'value="t&lt;k&gt;"' in together


def test_the_rows_read_no_column_left_behind(mgr_a, mgr_b, client_for):
    # given overdue rows with a product and a colleague's hand-over, of customers in a segment with a target
    product = ProductFactory()
    segment = Segment.objects.create(name="Makers")
    PortraitEntry.objects.create(segment=segment, product=ProductFactory(name="Target"))
    for number in range(3):
        customer = CustomerFactory(manager=mgr_a, segment=segment)
        PlannedContact.objects.create(customer=customer, manager=mgr_a, due_date=timezone.localdate() - timedelta(1),
                                      purpose=f"P{number}", product=product, handed_over_from=mgr_b)  # fmt: skip
    rows = list(agenda_overdue(mgr_a, timezone.localdate()))
    # then drawing them asks for nothing more (no deferred column loaded row by row)
    with CaptureQueriesContext(connection) as queries:
        html = "".join(
            str(render_agenda_row(row, today=timezone.localdate(), next_url="/", csrf_token="t", user_pk=mgr_a.pk))
            for row in agenda_dossier(rows, today=timezone.localdate(), viewer=mgr_a)
        )
    # the dossier: target products, product statuses, the viewer's permissions and open deals
    assert len(queries) == 4
    assert html.count(">Target</span>") == 3
    assert html.count("badge text-bg-secondary") == 3  # "from <colleague>"
    assert client_for(mgr_a).get(reverse("customers:agenda")).status_code == 200


@pytest.mark.parametrize("text", ["", "short", "x" * 120, "x" * 121, "e\u0301" * 70, "e\u0301" * 130, "a" * 119 + "é"])
def test_the_summarys_short_cut_is_truncatechars(text):
    assert _summary(text) == truncatechars(text, 120)


@pytest.mark.parametrize(
    "today", [date(2026, 12, 25), date(2027, 2, 14), date(2027, 2, 20), date(2028, 2, 20), date(2026, 3, 11)]
)
def test_month_day_ranges_match_exactly_the_windows_days(cust_a, today):
    # every day of a leap year as a birthday: the window's (month, day) pairs, no others
    first = date(2000, 1, 1)
    Contact.objects.bulk_create(
        Contact(customer=cust_a, name=str(n), birthday=first + timedelta(days=n)) for n in range(366)
    )
    window = _window(today, 14)
    found = Contact.objects.filter(month_day_in("birthday", window)).values_list("birthday", flat=True)
    assert sorted((day.month, day.day) for day in found) == sorted(window)


def test_the_owners_scope_is_left_out_only_on_the_users_own_rows(
    cust_a, cust_c, pool_customer, mgr_a, mgr_b, mgr_c, dir_1, admin_user, django_user_model
):
    # given deals of several managers, handed-over customers, a roleless user and an inactive one
    cust_b = CustomerFactory(manager=mgr_b)
    PlannedContact.objects.create(customer=cust_b, manager=mgr_a, due_date=TODAY, handed_over_from=mgr_b)
    for manager, customer in itertools.product([mgr_a, mgr_b, mgr_c, dir_1], [cust_a, cust_b, cust_c, pool_customer]):
        Deal.objects.create(customer=customer, manager=manager, title="D", sale_type="short_push", stage=1)
    roleless = django_user_model.objects.create_user("nobody", password="x" * 12)
    roleless.user_permissions.add(Permission.objects.get(codename="view_plannedcontact"))
    inactive = django_user_model.objects.create_user("gone", password="x" * 12, is_active=False)
    viewer_all = django_user_model.objects.create_user("auditor", password="x" * 12)
    viewer_all.user_permissions.add(Permission.objects.get(codename="view_all_customers"))
    users = [mgr_a, mgr_b, mgr_c, dir_1, admin_user, roleless, inactive, viewer_all]
    for viewer, owner in itertools.product(users, users):
        viewer = fresh(viewer)
        # then the rows are those of the full scope, for every viewer and owner
        customers = Customer.objects.filter(manager=owner)
        assert set(customers.filter(own_customers_scope(viewer, owner))) == set(
            customers.filter(customer_scope(viewer))
        ), (viewer, owner)
        deals = Deal.objects.filter(manager=owner)
        assert set(deals.filter(own_records_scope(viewer, owner, "manager", "customer__manager"))) == set(
            deals.filter(managed_scope(viewer, "manager", "customer__manager"))
        ), (viewer, owner)
    # and the scope is left out only for the user's own rows, never for someone else's
    assert own_customers_scope(fresh(mgr_a), mgr_a) == Q()
    assert own_customers_scope(fresh(mgr_a), mgr_b) != Q()
    assert own_customers_scope(fresh(roleless), roleless) != Q()


def test_the_agenda_forms_fields_are_drawn_as_django_draws_them(cust_a, mgr_a, mgr_b):
    # {{ field|lean_widget }} in customers/_agenda_field.html: the markup of {{ field }}
    from crm_project.form_tags import lean_widget
    from customers.interaction_forms import HandOverForm, InteractionForm

    Contact.objects.create(customer=cust_a, name='Pat "P" <Q>')
    ProductFactory(name="Kettle & Co")
    plan = PlannedContact.objects.create(customer=cust_a, manager=mgr_a, due_date=TODAY, purpose="x")
    forms = [
        HandOverForm(from_user=mgr_a, actor=mgr_a),
        HandOverForm(
            {"to_user": str(mgr_b.pk), "start": "2026-03-12", "end": "2026-03-01"}, from_user=mgr_a, actor=mgr_a
        ),  # fmt: skip
        HandOverForm({"to_user": "999", "start": "not a date"}, from_user=mgr_a, actor=mgr_a),
        InteractionForm(customer=cust_a, user=mgr_a, key="card", initial={"completes": plan.pk}),
        InteractionForm({"kind": "call", "summary": "<b>", "next_date": "x"}, customer=cust_a, user=mgr_a, key="row1"),
    ]
    for form in forms:
        if form.is_bound:
            form.is_valid()
        for field in form:
            assert str(lean_widget(field)) == str(field), field.name


def test_the_hand_over_forms_colleagues_read_once_draw_the_same_choices_without_a_query(mgr_a, mgr_b):
    from crm_project.form_tags import lean_widget
    from customers.interaction_forms import HandOverForm
    from customers.selectors.agenda import hand_over_target_users

    # given the colleagues a manager may hand over to, read by the agenda's compiled query
    targets = hand_over_target_users(mgr_a)
    assert [user.pk for user in targets] == [mgr_b.pk]
    plain = HandOverForm(from_user=mgr_a, actor=mgr_a)
    fetched = HandOverForm(from_user=mgr_a, actor=mgr_a, targets=targets)
    # when the form draws them, then it asks nothing and draws what the queryset draws
    expected = str(lean_widget(plain["to_user"]))
    with CaptureQueriesContext(connection) as queries:
        drawn = str(lean_widget(fetched["to_user"]))
    assert (drawn, len(queries)) == (expected, 0)
    assert f'value="{mgr_b.pk}"' in drawn


@pytest.mark.parametrize("fmt", ["j M Y", "D j M", "D j M Y", "j M Y H:i", "N j, P"])
def test_a_rows_day_is_what_the_templates_date_filter_writes_for_any_moment(fmt):
    from datetime import UTC, datetime

    from django.template.defaultfilters import date as date_filter

    from customers.agenda_row import _day

    # moments either side of midnight in the business time zone (summer time: 23:30 UTC is the next day)
    moments = [datetime(2026, 7, 10, hour, 30, tzinfo=UTC) for hour in (0, 11, 21, 22, 23)]
    for moment in moments:  # the template localises an aware moment before the filter (expects_localtime)
        assert _day(moment, fmt) == date_filter(timezone.localtime(moment), fmt), moment
    if "H" not in fmt and "P" not in fmt:  # and a plain day
        assert _day(date(2026, 7, 10), fmt) == date_filter(date(2026, 7, 10), fmt)


def test_the_hand_over_form_builds_its_queryset_only_when_something_reads_it(mgr_a, mgr_b):
    from unittest import mock

    from crm_project.form_tags import lean_widget
    from customers import interaction_forms
    from customers.interaction_forms import HandOverForm
    from customers.selectors.agenda import hand_over_target_users

    targets = hand_over_target_users(mgr_a)
    expected = str(lean_widget(HandOverForm(from_user=mgr_a, actor=mgr_a)["to_user"]))
    with mock.patch.object(interaction_forms, "hand_over_targets", wraps=interaction_forms.hand_over_targets) as built:
        # given the colleagues already read, when the agenda draws the form, then no queryset is built
        fetched = HandOverForm(from_user=mgr_a, actor=mgr_a, targets=targets)
        assert (str(lean_widget(fetched["to_user"])), built.call_count) == (expected, 0)
        # when a posted form checks its choice, then the queryset is built once and checks it
        posted = HandOverForm({"to_user": str(mgr_b.pk)}, from_user=mgr_a, actor=mgr_a)
        assert posted.is_valid(), posted.errors
        assert (posted.cleaned_data["to_user"], built.call_count) == (mgr_b, 1)
        refused = HandOverForm({"to_user": str(mgr_a.pk)}, from_user=mgr_a, actor=mgr_a)
        assert not refused.is_valid() and "to_user" in refused.errors
        assert built.call_count == 2
        # and a queryset set later wins over the one to build
        later = HandOverForm(from_user=mgr_a, actor=mgr_a)
        later.fields["to_user"].queryset = type(mgr_a).objects.filter(pk=mgr_a.pk)
        assert (list(later.fields["to_user"].queryset), built.call_count) == ([mgr_a], 2)


def test_a_pages_rows_read_the_time_zone_and_language_once(mgr_a):
    from datetime import UTC, datetime
    from unittest import mock

    from django.template.defaultfilters import date as date_filter

    from customers import agenda_row
    from customers.agenda_row import _day

    # given overdue rows whose customers were last contacted at different moments
    customers = [CustomerFactory(manager=mgr_a, name=f"C{number}") for number in range(3)]
    for number, customer in enumerate(customers):
        PlannedContact.objects.create(customer=customer, manager=mgr_a, due_date=TODAY - timedelta(days=1),
                                      purpose="Call")  # fmt: skip
        Interaction.objects.create(customer=customer, manager=mgr_a, summary="s",
                                   occurred_at=datetime(2026, 3, 1 + number, 23, 30, tzinfo=UTC))  # fmt: skip
    rows = agenda_dossier(agenda_overdue(mgr_a, TODAY), today=TODAY, viewer=mgr_a)
    page = {"today": TODAY, "next_url": "/customers/agenda/", "csrf_token": "t", "user_pk": mgr_a.pk}
    # when the page draws them, then it reads the time zone and the language once, not once a row
    with (
        mock.patch.object(timezone, "get_current_timezone", wraps=timezone.get_current_timezone) as zones,
        mock.patch.object(agenda_row, "get_language", wraps=agenda_row.get_language) as languages,
    ):
        drawn = str(render_agenda_rows(rows, **page))
    assert (zones.call_count, languages.call_count) == (1, 1)
    # and each row's day is still the local one the date filter writes
    for row in rows:
        assert _day(row.last_at, "j M Y") == date_filter(timezone.localtime(row.last_at), "j M Y")
        assert f"{date_filter(timezone.localtime(row.last_at), 'j M Y')} · " in drawn
    # a day given the page's zone and language is the same day
    moment = datetime(2026, 7, 10, 23, 30, tzinfo=UTC)
    zone = timezone.get_current_timezone()
    assert _day(moment, "j M Y", "en-gb", zone) == date_filter(timezone.localtime(moment), "j M Y")
