"""Lists count no further than LIST_COUNT_CAP rows (deeper pages to the next multiple of it
past the page), and every row stays reachable."""

import re

from django.db.models.functions import Length
from django.urls import reverse

from tests.factories import CustomerFactory


def test_a_long_list_says_more_than_the_cap_and_still_reaches_its_last_page(mgr_a, client_for, settings):
    settings.LIST_COUNT_CAP = 5
    CustomerFactory.create_batch(31, manager=mgr_a)  # 25 a page: two pages, the second past the cap
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")
    first = client.get(url)
    assert first.context["table"].paginator.capped
    # counted to the first multiple of 5 past the page's 25 rows
    assert "More than 30 found" in first.content.decode()
    last = client.get(url, {"page": 2, "sort": "name"})
    assert last.status_code == 200
    table = last.context["table"]
    assert table.paginator.count == 31 and not table.paginator.capped
    assert len(table.page.object_list) == 6
    assert "31 found" in last.content.decode()
    # past the end: django-tables2 shows the last page
    assert client.get(url, {"page": 3}).context["table"].page.number == 2


def test_a_deeper_page_counts_to_the_next_multiple_of_the_cap_past_it(mgr_a, client_for, settings):
    settings.LIST_COUNT_CAP = 5
    CustomerFactory.create_batch(31, manager=mgr_a)
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")

    def shown(page):
        response = client.get(url, {"page": page, "per_page": 5, "sort": "name"})
        table = response.context["table"]
        text = re.search(r'id="list-count">([^<]+)<', response.content.decode()).group(1)
        return text, table.page.number, len(table.page.object_list)

    assert shown(1) == ("More than 10 found", 1, 5)
    assert shown(3) == ("More than 20 found", 3, 5)  # and page 4 is linked
    assert shown(6) == ("31 found", 6, 5)
    assert shown(7) == ("31 found", 7, 1)
    assert shown(9) == ("31 found", 7, 1)  # past the end: the last page


def test_a_short_list_shows_its_exact_count(mgr_a, client_for):
    CustomerFactory.create_batch(4, manager=mgr_a, city="Leeds")
    response = client_for(mgr_a).get(reverse("customers:customer_list"), {"city": "leeds"})
    assert "4 found" in response.content.decode()
    assert not response.context["table"].paginator.capped


def _page(client, url, params):
    table = client.get(url, params).context["table"]
    return [row.record.pk for row in table.page.object_list], table.paginator.count


def test_a_deep_page_read_keys_first_shows_the_same_rows(mgr_a, client_for, monkeypatch):
    """Past DEFERRED_FROM rows a page reads its keys, then its rows (crm_project.pagination):
    the same rows in the same order as one OFFSET query, whatever the sort, with the
    deals' annotated `paid` and joined columns, and on the last, short page. The sorts
    are total orders: among rows that tie PostgreSQL returns either query's rows in any
    order, so there is nothing to compare."""
    from decimal import Decimal

    from crm_project import pagination
    from sales_pipeline.models import Deal

    customers = [CustomerFactory(manager=mgr_a, name=f"Customer {n:02d}") for n in range(12)]
    for n in range(60):
        Deal.objects.create(
            customer=customers[n % 12], manager=mgr_a, title=f"Deal {(n * 7) % 60:02d}", sale_type="short_push",
            stage=n % 5, amount=Decimal((n * 13) % 60 * 10),
        )  # fmt: skip
    client = client_for(mgr_a)
    cases = [
        (reverse("sales_pipeline:deal_list"), {"sort": sort, "page": page, "per_page": 25})
        for sort in ("-amount", "amount", "title", "-title")
        for page in (2, 3)
    ] + [(reverse("customers:customer_list"), {"sort": sort, "page": 2, "per_page": 5}) for sort in ("name", "-name")]
    for url, params in cases:
        monkeypatch.setattr(pagination, "DEFERRED_FROM", 10_000)
        expected = _page(client, url, params)
        monkeypatch.setattr(pagination, "DEFERRED_FROM", 1)
        deferred = _page(client, url, params)
        assert deferred == expected, (url, params)
        assert expected[0], (url, params)
    pages = []
    for deferred_from in (1, 10_000):
        monkeypatch.setattr(pagination, "DEFERRED_FROM", deferred_from)
        html = client.get(reverse("sales_pipeline:deal_list"), {"page": 2, "sort": "-amount"}).content.decode()
        pages.append(re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', "", html))  # masked per request
    assert pages[0] == pages[1]


def test_a_deep_page_counts_and_reads_its_keys_in_one_query(mgr_a, client_for, monkeypatch, settings):
    """A deep page's count comes from the same read as its keys (the first cap + 1 keys in
    the list's order): no COUNT query, and the same count, rows and links as counted apart."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm_project import pagination

    # given 31 customers, a cap of 10 and pages of 5
    settings.LIST_COUNT_CAP = 10
    CustomerFactory.create_batch(31, manager=mgr_a)
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")
    for page in (3, 4, 7, 9):
        params = {"page": page, "per_page": 5, "sort": "name"}
        monkeypatch.setattr(pagination, "DEFERRED_FROM", 10_000)
        expected = _page(client, url, params), client.get(url, params).content.decode()
        # when the page is deep
        monkeypatch.setattr(pagination, "DEFERRED_FROM", 1)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        # then nothing is counted apart, and the page is the same
        assert not [q for q in queries if "COUNT(" in q["sql"].upper() and "customers_customer" in q["sql"]], page
        table = response.context["table"]
        got = [row.record.pk for row in table.page.object_list], table.paginator.count
        masked = re.compile(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"')
        assert got == expected[0], page
        assert masked.sub("", response.content.decode()) == masked.sub("", expected[1]), page


def test_a_sort_walks_an_index_only_when_one_leads_with_its_column():
    """walks_an_index: the model's own column leading a plain B-tree index on every row
    (declared, unique, foreign key, the key); not a column without one, a joined table's
    column, an annotation, a GIN index's column or one whose index is partial."""
    from crm_project.pagination import walks_an_index
    from customers.models import Customer
    from sales_pipeline.models import Deal

    walks = {
        (model, sort): walks_an_index(model.objects.order_by(sort))
        for model, sort in [
            (Customer, "name"), (Customer, "-city"), (Customer, "created_at"), (Customer, "pk"),
            (Customer, "external_ref"), (Customer, "manager"),
            (Customer, "email"), (Customer, "kind"), (Customer, "manager__username"),
            (Deal, "title"), (Deal, "-stage"), (Deal, "offer_expires"), (Deal, "amount"),
        ]
    }  # fmt: skip
    assert [key for key, walked in walks.items() if walked] == [
        (Customer, "name"), (Customer, "-city"), (Customer, "created_at"), (Customer, "pk"),
        (Customer, "external_ref"), (Customer, "manager"), (Deal, "title"), (Deal, "-stage"),
    ]  # fmt: skip
    # the email's trigram index keeps no order; offer_expires is indexed for open deals
    # at stage 2 only; amount comes after the status in its indexes
    assert walks_an_index(Deal.objects.all())  # the model's ordering: -created_at
    # a foreign key sorts by the related model's ordering when it has one (the customer's
    # name, through the join); the user model has none: by the key's own index
    assert not walks_an_index(Deal.objects.order_by("customer"))
    assert not walks_an_index(Customer.objects.annotate(n=Length("name")).order_by("n"))


def test_a_first_page_sorted_where_no_index_leads_reads_its_keys_first(mgr_a, client_for, monkeypatch, settings):
    """Sorted by a column no index leads, even the first page of a long list (past the
    count's cap) reads its keys first (the sort over the keys only, then the page's rows
    with their joins): the same rows in the same order, count and HTML as read at once.
    A short list is read at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm_project import pagination

    settings.LIST_COUNT_CAP = 10
    for n in range(12):
        CustomerFactory(manager=mgr_a, name=f"Customer {n:02d}", email=f"{(n * 5) % 12:02d}@example.com")
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")
    masked = re.compile(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"')
    for params in ({"sort": "email", "per_page": 5}, {"sort": "-email", "per_page": 5}):
        monkeypatch.setattr(pagination, "walks_an_index", lambda queryset: True)
        expected = _page(client, url, params), masked.sub("", client.get(url, params).content.decode())
        monkeypatch.undo()
        with CaptureQueriesContext(connection) as queries:
            got = _page(client, url, params)
        # read before the next request: Django empties the query log when one starts
        sorted_keys = [
            q["sql"]
            for q in queries
            if "ORDER BY" in q["sql"] and q["sql"].startswith('SELECT "customers_customer"."id" AS "pk" FROM')
        ]
        assert got == expected[0], params
        assert masked.sub("", client.get(url, params).content.decode()) == expected[1], params
        assert len(sorted_keys) == 1 and '"customers_customer"."email"' in sorted_keys[0].split("ORDER BY")[1], params
    # a short list: sorting its rows costs less than a second query
    settings.LIST_COUNT_CAP = 20
    with CaptureQueriesContext(connection) as queries:
        _page(client, url, {"sort": "email", "per_page": 5})
    assert not [q for q in queries if q["sql"].startswith('SELECT "customers_customer"."id" AS "pk" FROM')]
