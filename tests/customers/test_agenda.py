"""The agenda: day and overdue selection, the month counts, moving and handing over
planned contacts, birthdays and holidays, greetings, and the pages built on them."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import (
    Contact,
    Customer,
    Greeting,
    Holiday,
    Interaction,
    PlannedContact,
    PortraitEntry,
    Segment,
)
from customers.selectors.agenda import (
    BIRTHDAY,
    agenda_counts,
    agenda_day,
    agenda_month,
    agenda_overdue,
    holiday_greetings,
    upcoming_birthdays,
    upcoming_holidays,
)
from customers.services.agenda import agenda_hand_over, greeting_log, planned_contact_cancel, planned_contact_move
from tests.factories import CustomerFactory, ProductFactory, make_director

DAY = date(2026, 3, 11)  # a Wednesday


def plan(customer, day, *, manager=None, status=PlannedContact.Status.PLANNED, purpose="Call back"):
    return PlannedContact.objects.create(
        customer=customer, manager=manager or customer.manager, due_date=day, purpose=purpose, status=status
    )


def names(rows):
    return [row.customer.name for row in rows]


#
# Day, overdue and month
#


def test_the_day_lists_only_the_managers_open_contacts_of_that_day(cust_a, mgr_a, mgr_b):
    # given contacts on the day before, the day, the day after, and some that do not count
    on_the_day = plan(cust_a, DAY)
    plan(cust_a, DAY - timedelta(days=1))
    plan(cust_a, DAY + timedelta(days=1))
    plan(cust_a, DAY, status=PlannedContact.Status.DONE)
    plan(cust_a, DAY, status=PlannedContact.Status.CANCELLED)
    plan(CustomerFactory(manager=mgr_b), DAY)
    # when the day is selected, then only the open contact of that day and manager is in it
    assert [row.pk for row in agenda_day(mgr_a, DAY)] == [on_the_day.pk]


def test_overdue_is_open_contacts_strictly_before_today(cust_a, mgr_a):
    # given contacts due yesterday (open and done), today and long ago
    yesterday = plan(cust_a, DAY - timedelta(days=1), purpose="yesterday")
    plan(cust_a, DAY - timedelta(days=1), status=PlannedContact.Status.DONE)
    plan(cust_a, DAY, purpose="today")
    long_ago = plan(cust_a, DAY - timedelta(days=400), purpose="long ago")
    # when overdue contacts are selected as of DAY, then today's is not overdue, oldest first
    assert [row.pk for row in agenda_overdue(mgr_a, DAY)] == [long_ago.pk, yesterday.pk]


def test_the_month_counts_open_contacts_per_day_inside_the_month(cust_a, mgr_a):
    # given contacts on the last day of February, the first and last of March, and April 1st
    plan(cust_a, date(2026, 2, 28))
    plan(cust_a, date(2026, 3, 1))
    plan(cust_a, date(2026, 3, 1))
    plan(cust_a, date(2026, 3, 31))
    plan(cust_a, date(2026, 3, 31), status=PlannedContact.Status.CANCELLED)
    plan(cust_a, date(2026, 4, 1))
    # when March is counted, then only March's open contacts count, per day
    assert agenda_month(mgr_a, 2026, 3) == {date(2026, 3, 1): 2, date(2026, 3, 31): 1}


#
# Moving and cancelling
#


def test_moving_a_contact_keeps_the_old_and_new_date_and_the_actor_in_history(cust_a, mgr_a):
    # given an open contact due today
    today = timezone.localdate()
    contact = plan(cust_a, today)
    # when mgr_a moves it three days on
    planned_contact_move(contact=contact, to_date=today + timedelta(days=3), actor=mgr_a)
    # then it is due then, and the newest history row says who moved it from when
    contact.refresh_from_db()
    assert contact.due_date == today + timedelta(days=3)
    newest, previous = contact.history.all()[:2]
    assert (previous.due_date, newest.due_date) == (today, today + timedelta(days=3))
    assert newest.history_user == mgr_a
    assert newest.history_change_reason == "moved"


def test_a_contact_is_not_moved_into_the_past_nor_once_done(cust_a, mgr_a):
    today = timezone.localdate()
    contact = plan(cust_a, today)
    with pytest.raises(ValidationError):
        planned_contact_move(contact=contact, to_date=today - timedelta(days=1), actor=mgr_a)
    done = plan(cust_a, today, status=PlannedContact.Status.DONE)
    with pytest.raises(ValidationError):
        planned_contact_move(contact=done, to_date=today + timedelta(days=1), actor=mgr_a)


def test_cancelling_takes_a_contact_off_the_agenda_with_history(cust_a, mgr_a):
    contact = plan(cust_a, DAY)
    planned_contact_cancel(contact=contact, actor=mgr_a)
    assert list(agenda_day(mgr_a, DAY)) == []
    assert contact.history.first().history_user == mgr_a
    with pytest.raises(ValidationError):
        planned_contact_cancel(contact=contact, actor=mgr_a)


#
# Hand-over
#


def test_handing_over_the_whole_agenda_moves_every_open_contact(cust_a, mgr_a, mgr_b):
    # given open contacts on several days, and one already done
    open_ones = [plan(cust_a, DAY + timedelta(days=n)) for n in (-30, 0, 90)]
    done = plan(cust_a, DAY, status=PlannedContact.Status.DONE)
    # when mgr_a hands over everything to mgr_b
    count = agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    # then every open contact is mgr_b's, marked as coming from mgr_a; the done one stays
    assert count == 3
    for contact in open_ones:
        contact.refresh_from_db()
        assert (contact.manager, contact.handed_over_from) == (mgr_b, mgr_a)
    done.refresh_from_db()
    assert done.manager == mgr_a and done.handed_over_from is None


def test_handing_over_a_date_range_includes_both_ends(cust_a, mgr_a, mgr_b):
    # given contacts on the day before, the first day, the last day and the day after a range
    start, end = DAY, DAY + timedelta(days=6)
    before, first, last, after = (plan(cust_a, day) for day in (start - timedelta(1), start, end, end + timedelta(1)))
    # when the range is handed over
    assert agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a, start=start, end=end) == 2
    # then both ends moved and nothing outside them did
    managers = dict(PlannedContact.objects.values_list("pk", "manager__username"))
    assert [managers[c.pk] for c in (before, first, last, after)] == ["mgr_a", "mgr_b", "mgr_b", "mgr_a"]


def test_a_manager_hands_over_only_to_an_active_manager_of_the_same_team(cust_a, mgr_a, mgr_b, mgr_c):
    plan(cust_a, DAY)
    # another team
    with pytest.raises(ValidationError):
        agenda_hand_over(from_user=mgr_a, to_user=mgr_c, actor=mgr_a)
    # an inactive colleague
    mgr_b.is_active = False
    mgr_b.save()
    with pytest.raises(ValidationError):
        agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_a)
    # nothing moved
    assert PlannedContact.objects.get().manager == mgr_a


def test_a_manager_cannot_hand_over_a_colleagues_agenda(cust_a, mgr_a, mgr_b):
    plan(cust_a, DAY)
    with pytest.raises(PermissionDenied):
        agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=mgr_b)


def test_a_director_hands_a_managers_agenda_only_within_the_team(cust_a, mgr_a, mgr_b, mgr_c, dir_1):
    # issue 11 item 3: this used to hand mgr_a's agenda to mgr_c of another team
    contact = plan(cust_a, DAY)
    with pytest.raises(ValidationError) as refused:
        agenda_hand_over(from_user=mgr_a, to_user=mgr_c, actor=dir_1)
    assert "only within the team" in refused.value.message_dict["to_user"][0]
    contact.refresh_from_db()
    assert contact.manager == mgr_a
    assert agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=dir_1) == 1


def test_a_director_of_another_team_cannot_hand_over_the_agenda(cust_a, mgr_a, mgr_b, team_2):
    plan(cust_a, DAY)
    outsider = make_director("dir_2", team_2)
    with pytest.raises(PermissionDenied):
        agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=outsider)


def test_a_hand_over_is_kept_in_history_with_who_did_it(cust_a, mgr_a, mgr_b, dir_1):
    contact = plan(cust_a, DAY)
    agenda_hand_over(from_user=mgr_a, to_user=mgr_b, actor=dir_1)
    newest, previous = contact.history.all()[:2]
    assert (previous.manager_id, newest.manager_id) == (mgr_a.pk, mgr_b.pk)
    assert newest.handed_over_from_id == mgr_a.pk
    assert newest.history_user == dir_1 and newest.history_change_reason == "handed over"


def test_after_a_hand_over_the_colleague_sees_the_card_and_the_original_agenda_drops_it(
    cust_a, mgr_a, mgr_b, client_for
):
    # given mgr_a's contact today, which mgr_b cannot see yet
    today = timezone.localdate()
    plan(cust_a, today, purpose="Confirm the delivery")
    client = client_for(mgr_b)
    assert client.get(cust_a.get_absolute_url()).status_code == 404
    # when mgr_a hands over the agenda through the page
    client_for(mgr_a).post(reverse("customers:agenda_hand_over"), {"to_user": mgr_b.pk})
    # then mgr_b opens the card and finds the contact on the agenda, marked as from mgr_a
    client = client_for(mgr_b)
    assert client.get(cust_a.get_absolute_url()).status_code == 200
    page = client.get(reverse("customers:agenda"))
    assert names(page.context["rows"]) == ["Alpha Works"]
    assert b"from mgr_a" in page.content
    # and mgr_a's agenda no longer lists it
    assert client_for(mgr_a).get(reverse("customers:agenda")).context["rows"] == []


def test_the_hand_over_page_shows_a_field_error_for_a_colleague_of_another_team(mgr_a, mgr_c, client_for):
    response = client_for(mgr_a).post(reverse("customers:agenda_hand_over"), {"to_user": mgr_c.pk})
    assert response.status_code == 200
    assert "to_user" in response.context["hand_over_form"].errors


def test_the_hand_over_range_must_not_end_before_it_starts(mgr_a, mgr_b, client_for):
    response = client_for(mgr_a).post(
        reverse("customers:agenda_hand_over"), {"to_user": mgr_b.pk, "start": "2026-03-10", "end": "2026-03-09"}
    )
    assert "end" in response.context["hand_over_form"].errors


#
# Birthdays, holidays and greetings
#


def contact_born(customer, birthday, name="Pat"):
    return Contact.objects.create(customer=customer, name=name, birthday=birthday)


def test_birthdays_are_found_across_the_year_end(cust_a, mgr_a):
    # given birthdays on 24 Dec, 25 Dec, 3 Jan, 8 Jan and 9 Jan
    for month, day, name in [(12, 24, "Before"), (12, 25, "First"), (1, 3, "Third"), (1, 8, "Last"), (1, 9, "After")]:
        contact_born(cust_a, date(1980, month, day), name)
    # when the fortnight from Christmas Day is listed
    entries = upcoming_birthdays(mgr_a, date(2026, 12, 25), 14)
    # then both edges are in, by date, with next year's date after New Year
    assert [(e["name"], e["date"]) for e in entries] == [
        ("First", date(2026, 12, 25)),
        ("Third", date(2027, 1, 3)),
        ("Last", date(2027, 1, 8)),
    ]
    assert entries[0]["age"] == 46


def test_a_29_february_birthday_is_shown_on_the_28th_in_a_non_leap_year(cust_a, mgr_a):
    contact_born(cust_a, date(1992, 2, 29), "Leap")
    assert [e["date"] for e in upcoming_birthdays(mgr_a, date(2027, 2, 20), 14)] == [date(2027, 2, 28)]
    assert [e["date"] for e in upcoming_birthdays(mgr_a, date(2028, 2, 20), 14)] == [date(2028, 2, 29)]
    # and not twice when the window ends on the 28th of a non-leap year
    assert len(upcoming_birthdays(mgr_a, date(2027, 2, 14), 14)) == 1


def test_birthdays_include_person_customers_and_leave_out_other_managers_customers(cust_a, mgr_a, mgr_c):
    person = CustomerFactory(name="Sam Person", kind=Customer.Kind.PERSON, manager=mgr_a, birthday=date(1990, 3, 12))
    contact_born(CustomerFactory(manager=mgr_c), date(1990, 3, 12), "Not yours")
    entries = upcoming_birthdays(mgr_a, DAY, 14)
    assert [(e["name"], e["contact"], e["customer"]) for e in entries] == [("Sam Person", None, person)]


def test_holidays_come_up_across_the_year_end_and_one_off_holidays_only_in_their_year(db):
    Holiday.objects.create(name="New Year", date=date(2000, 1, 1), yearly=True)
    Holiday.objects.create(name="Christmas", date=date(2000, 12, 25), yearly=True)
    Holiday.objects.create(name="Fair 2026", date=date(2026, 12, 30), yearly=False)
    Holiday.objects.create(name="Fair 2025", date=date(2025, 12, 30), yearly=False)
    entries = upcoming_holidays(date(2026, 12, 26), 14)
    assert [(e["holiday"].name, e["date"]) for e in entries] == [
        ("Fair 2026", date(2026, 12, 30)),
        ("New Year", date(2027, 1, 1)),
    ]


def test_greeting_twice_on_the_same_occasion_logs_one_greeting(cust_a, mgr_a):
    new_year = Holiday.objects.create(name="New Year", date=date(2000, 1, 1))
    first, created = greeting_log(customer=cust_a, occasion=new_year.name, occasion_date=date(2027, 1, 1), actor=mgr_a)
    again, created_again = greeting_log(
        customer=cust_a, occasion=new_year.name, occasion_date=date(2027, 1, 1), actor=mgr_a
    )
    assert created and not created_again and first == again
    assert Greeting.objects.count() == 1
    # a contact's birthday is its own occasion
    pat = contact_born(cust_a, date(1980, 1, 1))
    greeting_log(customer=cust_a, contact=pat, occasion=BIRTHDAY, occasion_date=date(2027, 1, 1), actor=mgr_a)
    greeting_log(customer=cust_a, contact=pat, occasion=BIRTHDAY, occasion_date=date(2027, 1, 1), actor=mgr_a)
    assert Greeting.objects.count() == 2


def test_a_greeting_needs_a_real_occasion(cust_a, mgr_a):
    pat = contact_born(cust_a, date(1980, 5, 5))
    with pytest.raises(ValidationError):
        greeting_log(customer=cust_a, contact=pat, occasion=BIRTHDAY, occasion_date=date(2027, 5, 6), actor=mgr_a)
    with pytest.raises(ValidationError):
        greeting_log(customer=cust_a, occasion="Made-up Day", occasion_date=date(2027, 5, 6), actor=mgr_a)


def test_the_greeted_button_logs_once_and_answers_htmx_with_the_mark(cust_a, mgr_a, client_for):
    # given a contact with a birthday on 15 June
    pat = contact_born(cust_a, date(1984, 6, 15))
    day = date(timezone.localdate().year, 6, 15)
    data = {"customer": cust_a.pk, "contact": pat.pk, "occasion": BIRTHDAY, "occasion_date": day.isoformat()}
    client = client_for(mgr_a)
    # when the button is clicked twice
    first = client.post(reverse("customers:greeting_create"), data, HTTP_HX_REQUEST="true")
    second = client.post(reverse("customers:greeting_create"), data, HTTP_HX_REQUEST="true")
    # then both answers show the mark, and one greeting is logged
    assert b"Greeted" in first.content and b"<form" not in first.content
    assert second.status_code == 200
    assert Greeting.objects.filter(contact=pat).count() == 1


def test_another_manager_cannot_greet_for_a_customer_they_do_not_see(cust_a, mgr_b, client_for):
    Holiday.objects.create(name="New Year", date=date(2000, 1, 1))
    data = {"customer": cust_a.pk, "occasion": "New Year", "occasion_date": "2027-01-01"}
    assert client_for(mgr_b).post(reverse("customers:greeting_create"), data).status_code == 404
    assert not Greeting.objects.exists()


def test_holiday_greetings_list_the_managers_own_customers_still_to_greet(cust_a, mgr_a, mgr_b):
    # given two own customers, one greeted on New Year, and a colleague's customer
    other = CustomerFactory(name="Beta Mills", manager=mgr_a)
    CustomerFactory(name="Not Mine", manager=mgr_b)
    new_year = Holiday.objects.create(name="New Year", date=date(2000, 1, 1))
    fair = Holiday.objects.create(name="Fair", date=date(2027, 1, 5), yearly=False)
    greeting_log(customer=cust_a, occasion="New Year", occasion_date=date(2027, 1, 1), actor=mgr_a)
    # when the holidays are listed
    holidays = [{"date": date(2027, 1, 1), "holiday": new_year}, {"date": date(2027, 1, 5), "holiday": fair}]
    first, second = holiday_greetings(mgr_a, holidays)
    # then each holiday lists its own customers left to greet, with counts
    assert (first["customers"], first["left"], first["total"]) == ([other], 1, 2)
    assert (second["customers"], second["left"], second["total"]) == ([cust_a, other], 2, 2)
    # and the list is cut at the limit while the count stays whole
    assert holiday_greetings(mgr_a, holidays, limit=1)[1]["customers"] == [cust_a]



def test_a_holiday_counts_as_greeted_only_the_customers_own_greeting_on_that_day(cust_a, mgr_a, mgr_b):
    # given own customers greeted on last year's New Year, through a contact person, or for
    # another holiday that day, and one greeted rightly, plus a colleague's greeted customer
    greeted = CustomerFactory(name="Greeted", manager=mgr_a)
    through_contact = CustomerFactory(name="Contact only", manager=mgr_a)
    colleagues = CustomerFactory(name="Colleague's", manager=mgr_b)
    new_year = Holiday.objects.create(name="New Year", date=date(2000, 1, 1))
    Greeting.objects.create(customer=cust_a, occasion="New Year", occasion_date=date(2026, 1, 1))
    Greeting.objects.create(customer=cust_a, occasion="Bank day", occasion_date=date(2027, 1, 1))
    person = Contact.objects.create(customer=through_contact, name="Ann")
    new_year_day = date(2027, 1, 1)
    Greeting.objects.create(customer=through_contact, contact=person, occasion="New Year", occasion_date=new_year_day)
    for customer in (greeted, colleagues):
        Greeting.objects.create(customer=customer, occasion="New Year", occasion_date=date(2027, 1, 1))
    # when New Year 2027 is listed for the manager
    (entry,) = holiday_greetings(mgr_a, [{"date": date(2027, 1, 1), "holiday": new_year}])
    # then only the customer greeted itself that day is done
    assert (entry["total"], entry["left"]) == (3, 2)
    assert {customer.pk for customer in entry["customers"]} == {cust_a.pk, through_contact.pk}



@pytest.mark.parametrize("offset", [-3, -1, 0, 1, 4])
def test_the_counts_are_the_days_and_the_overdue_contacts_whatever_day_is_shown(cust_a, mgr_a, dir_1, offset):
    # given open contacts from five days before today to five days after, two a day, and a done one
    today = DAY
    for delta in range(-5, 6):
        plan(cust_a, today + timedelta(days=delta))
        plan(cust_a, today + timedelta(days=delta), purpose="Again")
    plan(cust_a, today - timedelta(days=2), status=PlannedContact.Status.DONE)
    day = today + timedelta(days=offset)
    # when the counts are asked for a day, then the day has its two and overdue the ten before today, less the day's
    expected = {"day": 2, "overdue": 10 - (2 if day < today else 0)}
    assert agenda_counts(mgr_a, day, today) == expected
    assert agenda_counts(mgr_a, day, today, viewer=dir_1) == expected  # a director's, through the ORM


#
# The pages
#


def test_the_agenda_shows_the_day_and_overdue_with_each_customers_dossier(cust_a, mgr_a, client_for):
    # given a contact today with an earlier call, one overdue, and a target product for the segment
    today = timezone.localdate()
    segment = Segment.objects.create(name="Makers")
    product = ProductFactory(name="Conveyor")
    PortraitEntry.objects.create(segment=segment, product=product)
    Customer.objects.filter(pk=cust_a.pk).update(segment=segment)
    Interaction.objects.create(customer=cust_a, manager=mgr_a, summary="Asked for a quote", kind="call")
    plan(cust_a, today, purpose="Send the quote")
    late = CustomerFactory(name="Late Ltd", manager=mgr_a)
    plan(late, today - timedelta(days=2), purpose="Chase payment")
    # when mgr_a opens the agenda
    response = client_for(mgr_a).get(reverse("customers:agenda"))
    # then today's row shows the last interaction and what to offer next, and the overdue one is listed
    assert names(response.context["rows"]) == ["Alpha Works"]
    assert names(response.context["overdue"]) == ["Late Ltd"]
    row = response.context["rows"][0]
    assert row.last_summary == "Asked for a quote" and row.last_kind_label == "Call"
    assert row.offer_next == [product]
    content = response.content.decode()
    assert "Asked for a quote" in content and "Conveyor" in content and "Chase payment" in content


def test_a_long_overdue_list_shows_the_oldest_and_the_whole_count(cust_a, mgr_a, client_for, monkeypatch):
    monkeypatch.setattr("customers.views.agenda.OVERDUE_LIMIT", 2)
    today = timezone.localdate()
    for days in (1, 2, 3):
        plan(cust_a, today - timedelta(days=days), purpose=f"{days} days late")
    response = client_for(mgr_a).get(reverse("customers:agenda"))
    assert [row.purpose for row in response.context["overdue"]] == ["3 days late", "2 days late"]
    assert response.context["counts"] == {"day": 0, "overdue": 3}
    assert b"The oldest 2 of 3 are shown." in response.content


def test_an_unknown_day_falls_back_to_today_and_a_past_day_does_not_repeat_in_overdue(cust_a, mgr_a, client_for):
    today = timezone.localdate()
    plan(cust_a, today - timedelta(days=3))
    client = client_for(mgr_a)
    assert client.get(reverse("customers:agenda"), {"day": "not-a-day"}).context["day"] == today
    past = client.get(reverse("customers:agenda"), {"day": (today - timedelta(days=3)).isoformat()})
    assert names(past.context["rows"]) == ["Alpha Works"] and past.context["overdue"] == []


def test_a_director_opens_a_managers_agenda_of_their_team_only(cust_a, cust_c, mgr_a, mgr_c, dir_1, client_for):
    today = timezone.localdate()
    plan(cust_a, today)
    client = client_for(dir_1)
    response = client.get(reverse("customers:agenda"), {"manager": mgr_a.pk})
    assert response.status_code == 200 and names(response.context["rows"]) == ["Alpha Works"]
    assert client.get(reverse("customers:agenda"), {"manager": mgr_c.pk}).status_code == 404
    assert client.get(reverse("customers:agenda_month"), {"manager": mgr_c.pk}).status_code == 404


def test_a_manager_cannot_open_a_colleagues_agenda(mgr_a, mgr_b, client_for):
    client = client_for(mgr_b)
    assert client.get(reverse("customers:agenda"), {"manager": mgr_a.pk}).status_code == 404
    assert client.get(reverse("customers:agenda"), {"manager": "x"}).status_code == 404
    assert client.get(reverse("customers:agenda_month"), {"manager": mgr_a.pk}).status_code == 404


def test_the_month_page_counts_each_day_and_links_to_it(cust_a, mgr_a, client_for):
    plan(cust_a, date(2026, 3, 11))
    plan(cust_a, date(2026, 3, 11))
    response = client_for(mgr_a).get(reverse("customers:agenda_month"), {"month": "2026-03"})
    cells = {cell["date"]: cell for week in response.context["weeks"] for cell in week}
    assert cells[date(2026, 3, 11)]["count"] == 2
    assert response.context["total"] == 2
    assert f'href="{reverse("customers:agenda")}?day=2026-03-11"' in response.content.decode()
    assert response.context["prev_month"].month == 2 and response.context["next_month"].month == 4


def test_moving_from_an_agenda_row_redraws_the_row(cust_a, mgr_a, client_for):
    today = timezone.localdate()
    contact = plan(cust_a, today)
    tomorrow = today + timedelta(days=1)
    response = client_for(mgr_a).post(
        reverse("customers:planned_contact_move", args=[contact.pk]), {"to_date": tomorrow}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="contact-{contact.pk}"' in response.content.decode() and b"Moved to" in response.content
    contact.refresh_from_db()
    assert contact.due_date == tomorrow
    assert contact.history.first().history_user == mgr_a


def test_moving_into_the_past_shows_the_error_and_changes_nothing(cust_a, mgr_a, client_for):
    today = timezone.localdate()
    contact = plan(cust_a, today)
    url = reverse("customers:planned_contact_move", args=[contact.pk])
    client = client_for(mgr_a)
    htmx = client.post(url, {"to_date": today - timedelta(days=1)}, HTTP_HX_REQUEST="true")
    assert b"Pick today or a later day." in htmx.content
    page = client.post(url, {"to_date": ""})
    assert page.status_code == 200 and "to_date" in page.context["form"].errors
    contact.refresh_from_db()
    assert contact.due_date == today


def test_moving_without_htmx_redirects_back_with_a_message(cust_a, mgr_a, client_for):
    today = timezone.localdate()
    contact = plan(cust_a, today)
    response = client_for(mgr_a).post(
        reverse("customers:planned_contact_move", args=[contact.pk]),
        {"to_date": today + timedelta(days=2), "next": "https://evil.example/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"{reverse('customers:agenda')}?day={today:%Y-%m-%d}"
    assert "Moved Alpha Works" in response.content.decode()


def test_cancelling_from_an_agenda_row(cust_a, mgr_a, client_for):
    contact = plan(cust_a, timezone.localdate())
    response = client_for(mgr_a).post(
        reverse("customers:planned_contact_cancel", args=[contact.pk]), HTTP_HX_REQUEST="true"
    )
    assert b"Cancelled." in response.content
    contact.refresh_from_db()
    assert contact.status == PlannedContact.Status.CANCELLED


def test_another_manager_cannot_move_or_cancel_a_planned_contact(cust_a, mgr_a, mgr_b, client_for):
    # given mgr_a's contact for a pool customer, which mgr_b does see
    pool = CustomerFactory(name="Pool Co", manager=None)
    contact = plan(pool, DAY, manager=mgr_a)
    client = client_for(mgr_b)
    move = client.post(reverse("customers:planned_contact_move", args=[contact.pk]), {"to_date": "2099-01-01"})
    cancel = client.post(reverse("customers:planned_contact_cancel", args=[contact.pk]))
    assert move.status_code == cancel.status_code == 404
    contact.refresh_from_db()
    assert (contact.due_date, contact.status) == (DAY, PlannedContact.Status.PLANNED)


def test_a_director_moves_a_contact_of_their_team(cust_a, dir_1, client_for):
    contact = plan(cust_a, timezone.localdate())
    to_date = timezone.localdate() + timedelta(days=5)
    client_for(dir_1).post(reverse("customers:planned_contact_move", args=[contact.pk]), {"to_date": to_date})
    contact.refresh_from_db()
    assert contact.due_date == to_date
    assert contact.history.first().history_user == dir_1


def test_the_agenda_runs_the_same_queries_whatever_the_size(mgr_a, client_for):
    # given, at each size, customers with a contact today, one overdue, interactions,
    # a contact person with a birthday, target products and a holiday to greet on
    today = timezone.localdate()
    segment = Segment.objects.create(name="Makers")
    for product in ProductFactory.create_batch(3):
        PortraitEntry.objects.create(segment=segment, product=product)
    Holiday.objects.create(name="Trade day", date=today + timedelta(days=2), yearly=False)
    client = client_for(mgr_a)

    def queries_with(count):
        for number in range(count):
            customer = CustomerFactory(manager=mgr_a)
            Customer.objects.filter(pk=customer.pk).update(segment=segment)
            plan(customer, today, purpose=f"Today {number}")
            plan(customer, today - timedelta(days=1 + number % 5), purpose=f"Late {number}")
            for _ in range(2):
                Interaction.objects.create(customer=customer, manager=mgr_a, summary=f"Call {number}")
            contact_born(customer, today.replace(year=1980))  # a leap year, so even 29 February works
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("customers:agenda"))
        assert response.status_code == 200
        return len(queries), len(response.context["rows"])

    (small, small_rows), (large, large_rows) = queries_with(2), queries_with(12)
    assert (small_rows, large_rows) == (2, 14)
    # the session and the user 2, the counts 1, the day's and the overdue rows 2, their dossier 3
    # (target products, product statuses, the open deal: hooks.AGENDA_DOSSIER), holidays 1,
    # birthdays 1 (contacts and person customers, one UNION ALL) and their greetings 1, the holiday's
    # customers to greet 2, the hand-overs in force 1, the hand-over form's colleagues 1; through
    # hooks.AGENDA_ROWS: control points 1, loyalty 2 (tier changes, gifts), the contact interval 1
    # (the current run; no classes here), complaints and surveys 1 (one UNION ALL)
    assert small == large == 20
