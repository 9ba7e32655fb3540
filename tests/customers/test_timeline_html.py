"""The card's interactions written in Python (customers.timeline_html) give the markup the
card's loop over customers/_agenda_interaction.html gave, character for character."""

from datetime import UTC, datetime

import pytest
from django.template import engines
from django.utils import translation

from customers.models import Contact, Interaction
from customers.selectors import card

pytestmark = pytest.mark.django_db

# customers/_card_timeline.html's loop before the rows were written in Python
TEMPLATE_LOOP = """{% for item in interactions %}{% include "customers/_agenda_interaction.html" %}
    {% empty %}<li class="list-group-item text-muted" id="timeline-empty">No interactions yet.</li>{% endfor %}"""
NEW_LOOP = """{% load card_tags %}{% if interactions %}{% interaction_rows interactions %}{% else %}\
<li class="list-group-item text-muted" id="timeline-empty">No interactions yet.</li>{% endif %}"""


def _render(source, interactions):
    return engines["django"].from_string(source).render({"interactions": interactions})


def test_the_timeline_rows_are_the_includes_markup(cust_a, mgr_a, mgr_b):
    # given interactions of every kind and outcome, with and without a contact, by a manager
    # with a full name and one without, summaries with markup, newlines and 300+ characters,
    # and times either side of midnight and of the clock change in the business time zone
    mgr_a.first_name, mgr_a.last_name = "Ann", "O'Hara <A>"
    mgr_a.save()
    contact = Contact.objects.create(customer=cust_a, name='Bob "B" & Co')
    summaries = ["Plain", "<b>bold</b> & more\nline two\r\nline three", "x" * 299 + "yz" + " tail", ""]
    moments = [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 23, 59, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
    number = 0
    for kind in Interaction.Kind:
        for outcome in Interaction.Outcome:
            Interaction.objects.create(
                customer=cust_a,
                manager=(mgr_a, mgr_b)[number % 2],
                contact=contact if number % 3 else None,
                kind=kind,
                outcome=outcome,
                summary=summaries[number % len(summaries)],
                occurred_at=moments[number % len(moments)],
            )
            number += 1
    rows = card.interactions(cust_a)
    assert len(rows) == 25
    # then each language draws the same markup both ways, and an empty timeline too
    for language in ("en-gb", "de"):
        with translation.override(language):
            assert _render(NEW_LOOP, rows) == _render(TEMPLATE_LOOP, rows)
    assert _render(NEW_LOOP, []) == _render(TEMPLATE_LOOP, []) != ""
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more<br>line two<br>line three" in _render(NEW_LOOP, rows)


# customers/_agenda_planned.html's loop before the rows were written in Python
TEMPLATE_PLANNED = """{% load crm_urls %}{% now "Y-m-d" as today_iso %}{% for pc in planned_contacts %}
    <li class="list-group-item">
      {% if pc.manager_id == user.pk %}<a href="{% page_url 'customers:agenda' %}?day={{ pc.due_date|date:'Y-m-d' }}">\
{{ pc.due_date|date:"D j M Y" }}</a>{% else %}{{ pc.due_date|date:"D j M Y" }}{% endif %}
      {% if pc.due_date|date:"Y-m-d" < today_iso %}<span class="badge text-bg-danger">overdue</span>{% endif %}
      · {{ pc.purpose }}{% if pc.product %} · offer <em>{{ pc.product.name }}</em>{% endif %}
      · <span class="text-muted">{{ pc.manager.get_full_name|default:pc.manager.username }}</span>
    </li>
  {% empty %}<li class="list-group-item text-muted">Nothing planned.</li>{% endfor %}"""
NEW_PLANNED = """{% load card_tags %}{% if planned_contacts %}{% planned_rows planned_contacts user %}{% else %}\
<li class="list-group-item text-muted">Nothing planned.</li>{% endif %}"""


def test_the_planned_contact_rows_are_the_loops_markup(cust_a, mgr_a, mgr_b):
    # given open contacts of two managers (one with a full name with markup), past, today and
    # later in the business time zone, with and without a product, purposes with markup
    from datetime import timedelta

    from crm_project.dates import business_today
    from customers.models import PlannedContact
    from tests.factories import ProductFactory

    mgr_b.first_name = "<Bea>"
    mgr_b.save()
    product = ProductFactory(name="Gold & <Silver>")
    today = business_today()
    for number, days in enumerate([-40, -1, 0, 0, 1, 300]):
        PlannedContact.objects.create(
            customer=cust_a, manager=(mgr_a, mgr_b)[number % 2], due_date=today + timedelta(days=days),
            purpose=f"Call <{number}> & ask", product=product if number % 3 == 0 else None,
        )
    rows = card.planned_contacts(cust_a)
    assert len(rows) == 6
    # then the markup is the loop's, for either manager reading it, in two languages
    for reader in (mgr_a, mgr_b):
        for language in ("en-gb", "de"):
            with translation.override(language):
                context = {"planned_contacts": rows, "user": reader}
                new = engines["django"].from_string(NEW_PLANNED).render(context)
                assert new == engines["django"].from_string(TEMPLATE_PLANNED).render(context)
        assert new.count("overdue") == 2 and new.count("?day=") == 3 and "Gold &amp; &lt;Silver&gt;" in new
    empty = {"planned_contacts": [], "user": mgr_a}
    assert engines["django"].from_string(NEW_PLANNED).render(empty) == (
        engines["django"].from_string(TEMPLATE_PLANNED).render(empty)
    )
