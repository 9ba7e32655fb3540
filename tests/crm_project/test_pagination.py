"""Lists count no further than LIST_COUNT_CAP rows, and every row stays reachable."""

from django.urls import reverse

from tests.factories import CustomerFactory


def test_a_long_list_says_more_than_the_cap_and_still_reaches_its_last_page(mgr_a, client_for, settings):
    settings.LIST_COUNT_CAP = 5
    CustomerFactory.create_batch(31, manager=mgr_a)  # 25 a page: two pages, the second past the cap
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")
    first = client.get(url)
    assert first.context["table"].paginator.capped
    assert "More than 5 found" in first.content.decode()
    last = client.get(url, {"page": 2, "sort": "name"})
    assert last.status_code == 200
    table = last.context["table"]
    assert table.paginator.count == 31 and not table.paginator.capped
    assert len(table.page.object_list) == 6
    assert "31 found" in last.content.decode()
    # past the end: django-tables2 shows the last page
    assert client.get(url, {"page": 3}).context["table"].page.number == 2


def test_a_short_list_shows_its_exact_count(mgr_a, client_for):
    CustomerFactory.create_batch(4, manager=mgr_a, city="Leeds")
    response = client_for(mgr_a).get(reverse("customers:customer_list"), {"city": "leeds"})
    assert "4 found" in response.content.decode()
    assert not response.context["table"].paginator.capped
