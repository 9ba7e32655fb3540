"""The portrait: maturity, what to offer next, the matrix editor, the managed base."""

import csv
import io
from datetime import date

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import portrait
from customers.models import Customer, CustomerProduct, PortraitEntry, Segment, SegmentRule
from tests.factories import CustomerFactory, ProductFactory

TODAY = date(2026, 11, 26)


def make_segment(name="Makers", products=(), priority=1):
    seg = Segment.objects.create(name=name, priority=priority)
    SegmentRule.objects.create(segment=seg, field="industry", operator="eq", value="Manufacturing")
    for product in products:
        PortraitEntry.objects.create(segment=seg, product=product)
    return seg


def status(customer, product, code, when=None):
    return CustomerProduct.objects.create(customer=customer, product=product, status=code, status_date=when)


def test_maturity_is_target_products_in_use_over_targets(mgr_a):
    p1, p2, p3, other = ProductFactory.create_batch(4)
    make_segment(products=[p1, p2, p3])
    customer = CustomerFactory(manager=mgr_a)
    status(customer, p1, "in_use")
    status(customer, p2, "contract")
    status(customer, other, "in_use")  # not a target: does not count
    row = portrait.with_maturity(Customer.objects.filter(pk=customer.pk)).get()
    assert (row.in_use_count, row.target_count) == (1, 3)
    assert abs(row.maturity - 1 / 3) < 1e-9
    assert portrait.maturity(1, 3) == 1 / 3 and portrait.maturity(0, 0) is None


def test_a_non_target_customer_has_no_maturity(db):
    customer = CustomerFactory(industry="Retail")
    row = portrait.with_maturity(Customer.objects.filter(pk=customer.pk)).get()
    assert row.target_count == 0 and row.maturity is None


def test_offer_next_skips_products_in_use_and_recent_refusals(db):
    in_use, refused_recently, refused_long_ago, offered, fresh = ProductFactory.create_batch(5)
    make_segment(products=[in_use, refused_recently, refused_long_ago, offered, fresh])
    customer = CustomerFactory()
    status(customer, in_use, "in_use")
    status(customer, refused_recently, "refused", date(2026, 5, 27))  # six months ago tomorrow: blocked
    status(customer, refused_long_ago, "refused", date(2026, 5, 25))
    status(customer, offered, "offered", date(2026, 11, 1))
    offers = portrait.offer_next_for([customer.pk], today=TODAY)[customer.pk]
    assert set(offers) == {refused_long_ago, offered, fresh}
    # the card reads the same rule from the product row it has already fetched
    assert offer_from_row(customer, TODAY) == offers

    # the agenda's compiled version gives the same, in the same order
    assert portrait.offer_next_of({customer.pk: customer.segment_id}, today=TODAY)[customer.pk] == offers
    assert portrait.offer_next_of({customer.pk: None}, today=TODAY) == {customer.pk: []}


def test_a_refusal_exactly_six_months_ago_no_longer_blocks_the_offer(db):
    # Issue 11, item 9: the six months are half-open; 26 May is exactly six months before 26 Nov.
    on_the_day, day_after = ProductFactory.create_batch(2)
    make_segment(products=[on_the_day, day_after])
    customer = CustomerFactory()
    status(customer, on_the_day, "refused", date(2026, 5, 26))
    status(customer, day_after, "refused", date(2026, 5, 27))
    assert portrait.offer_next_for([customer.pk], today=TODAY)[customer.pk] == [on_the_day]
    assert offer_from_row(customer, TODAY) == [on_the_day]
    # month ends clip: 31 Aug - 6 months = 28 Feb, so a refusal on 28 Feb no longer blocks on 31 Aug
    february = CustomerFactory()
    status(february, on_the_day, "refused", date(2026, 2, 28))
    assert portrait.offer_next_for([february.pk], today=date(2026, 8, 31))[february.pk] == [on_the_day, day_after]
    assert offer_from_row(february, date(2026, 8, 31)) == [on_the_day, day_after]
    # and the agenda's compiled version, for both customers at once
    segments = {customer.pk: customer.segment_id, february.pk: february.segment_id}
    for today in (TODAY, date(2026, 8, 31)):
        expected = portrait.offer_next_for(list(segments), today=today)
        assert portrait.offer_next_of(segments, today=today) == expected


def offer_from_row(customer, today):
    from customers.selectors.profiles import customer_product_row

    customer = Customer.objects.select_related("segment").get(pk=customer.pk)
    return portrait.offer_next_from_row(customer_product_row(customer), today=today)


def test_the_card_and_the_managed_base_list_what_to_offer_next(mgr_a, client_for):
    # Issue 11, item 9: not only on agenda rows.
    press, dies, lathe = ProductFactory(name="Press"), ProductFactory(name="Dies"), ProductFactory(name="Lathe")
    make_segment(products=[press, dies, lathe])
    customer = CustomerFactory(manager=mgr_a, industry="Manufacturing", name="Maker One")
    status(customer, press, "in_use", date(2026, 1, 5))
    status(customer, dies, "refused", portrait.business_today())
    client = client_for(mgr_a)
    card = client.get(customer.get_absolute_url())
    assert card.context["offer_next"] == [lathe]
    assert 'id="offer-next"' in card.content.decode()
    table = managed_base(client).context["table"]
    assert table.offers_for(customer) == [lathe]
    rows = list(csv.reader(io.StringIO(managed_base(client, _export="csv").content.decode("utf-8-sig"))))
    assert dict(zip(rows[0], rows[1], strict=True))["Offer next"] == "Lathe"


def test_offer_next_runs_three_queries_for_any_number_of_customers(db, django_assert_num_queries):
    product = ProductFactory()
    make_segment(products=[product])
    ids = [c.pk for c in CustomerFactory.create_batch(30)]
    with django_assert_num_queries(3):
        offers = portrait.offer_next_for(ids, today=TODAY)
    assert all(offers[i] == [product] for i in ids)


def test_a_director_edits_the_portrait_and_untargeted_products_are_flagged(dir_1, client_for):
    p1 = ProductFactory(name="Press")
    ProductFactory(name="Lonely gadget")
    seg = make_segment(products=[])
    client = client_for(dir_1)
    client.post(reverse("customers:portrait"), {"mark": [f"{seg.pk}-{p1.pk}", "999-999", "junk"]})
    assert set(PortraitEntry.objects.values_list("segment_id", "product_id")) == {(seg.pk, p1.pk)}
    response = client.get(reverse("customers:portrait"))
    assert [p.name for p in response.context["untargeted"]] == ["Lonely gadget"]


def test_the_portrait_shows_one_product_line_at_a_time_and_saves_only_its_marks(dir_1, client_for, monkeypatch):
    from customers.models import ProductLine

    film, tools = ProductLine.objects.create(name="Film"), ProductLine.objects.create(name="Tools")
    wrap = ProductFactory(name="Wrap", line=film)
    ProductFactory(name="Old wrap", line=film, is_active=False)
    drill, saw = ProductFactory(name="Drill", line=tools), ProductFactory(name="Saw", line=tools)
    loose = ProductFactory(name="Loose", line=None)
    seg = make_segment(products=[wrap, drill])
    make_segment(name="Builders", products=[drill], priority=2)  # a product two segments target counts once
    client = client_for(dir_1)
    # a small catalogue opens on every line at once, by line then name
    page = client.get(reverse("customers:portrait"))
    assert [p.name for p in page.context["products"]] == ["Wrap", "Drill", "Saw", "Loose"]
    assert [(e["name"], e["marks"], e["products"]) for e in page.context["lines"]][0] == ("All lines", 2, 4)
    # a larger one (here: over 3 products) on its first line by name
    monkeypatch.setattr(portrait, "PORTRAIT_ALL_LIMIT", 3)
    page = client.get(reverse("customers:portrait"))
    assert [p.name for p in page.context["products"]] == ["Wrap"]
    assert [(e["name"], e["marks"], e["products"]) for e in page.context["lines"]] == [
        ("Film", 1, 1), ("Tools", 1, 2), ("Without a line", 0, 1)
    ]
    tools_page = client.get(reverse("customers:portrait"), {"line": tools.pk})
    assert [p.name for p in tools_page.context["products"]] == ["Drill", "Saw"]
    assert [p.name for p in tools_page.context["untargeted"]] == ["Saw"]
    # saving Tools: the saw marked, the drill unmarked; a mark for another line's product is ignored
    response = client.post(
        reverse("customers:portrait"), {"line": tools.pk, "mark": [f"{seg.pk}-{saw.pk}", f"{seg.pk}-{loose.pk}"]}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"?line={tools.pk}")
    assert set(PortraitEntry.objects.filter(segment=seg).values_list("product__name", flat=True)) == {"Wrap", "Saw"}


def test_a_manager_sees_the_portrait_but_cannot_change_it(mgr_a, client_for):
    seg, product = make_segment(), ProductFactory()
    client = client_for(mgr_a)
    assert client.get(reverse("customers:portrait")).status_code == 200
    assert client.post(reverse("customers:portrait"), {"mark": [f"{seg.pk}-{product.pk}"]}).status_code == 403
    assert not PortraitEntry.objects.exists()


def test_setting_a_product_status_from_the_card_keeps_history(cust_a, mgr_a, client_for):
    product = ProductFactory()
    client = client_for(mgr_a)
    url = reverse("customers:product_status_update", args=[cust_a.pk])
    client.post(url, {"product": product.pk, "status": "offered"}, HTTP_HX_REQUEST="true")
    response = client.post(
        url, {"product": product.pk, "status": "refused", "reason": "Too expensive"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"Too expensive" in response.content
    record = CustomerProduct.objects.get(customer=cust_a, product=product)
    assert (record.status, record.refusal_reason) == ("refused", "Too expensive")
    assert [h.status for h in record.history.order_by("history_date")] == ["offered", "refused"]


def managed_base(client, **params):
    return client.get(reverse("customers:managed_base"), params)


def test_the_managed_base_shows_a_column_per_target_product_and_each_status(mgr_a, client_for):
    p1, p2 = ProductFactory(name="Press"), ProductFactory(name="Dies")
    make_segment(products=[p1, p2])
    customer = CustomerFactory(manager=mgr_a, industry="Manufacturing", name="Maker One")
    status(customer, p1, "in_use", date(2026, 1, 5))
    response = managed_base(client_for(mgr_a))
    table = response.context["table"]
    assert [c.verbose_name for c in table.columns][-2:] == ["Dies", "Press"]
    html = response.content.decode()
    assert "In use 05.01.26" in html and "1/2 (50%)" in html


def test_the_managed_base_filters_by_product_status_and_exports(mgr_a, client_for):
    p1 = ProductFactory(name="Press")
    make_segment(products=[p1])
    refused = CustomerFactory(manager=mgr_a, industry="Manufacturing", name="Refuser")
    CustomerFactory(manager=mgr_a, industry="Manufacturing", name="Untouched")
    status(refused, p1, "refused", date(2026, 2, 1))
    client = client_for(mgr_a)
    names = [row.record.name for row in managed_base(client, product_status="refused").context["table"].rows]
    assert names == ["Refuser"]
    names = [row.record.name for row in managed_base(client, product_status="not_offered").context["table"].rows]
    assert names == ["Untouched"]
    rows = list(csv.reader(io.StringIO(managed_base(client, _export="csv").content.decode("utf-8-sig"))))
    assert rows[0][-1] == "Press"
    assert {row[1]: row[-1] for row in rows[1:]} == {"Refuser": "refused 2026-02-01", "Untouched": "not offered"}


def test_the_managed_base_runs_the_same_queries_at_any_size(mgr_a, client_for):
    products = ProductFactory.create_batch(6)
    make_segment(products=products)
    client = client_for(mgr_a)

    def queries_with(count):
        for customer in CustomerFactory.create_batch(count, manager=mgr_a, industry="Manufacturing"):
            for product in products[:3]:
                status(customer, product, "offered", date(2026, 3, 1))
        with CaptureQueriesContext(connection) as queries:
            assert managed_base(client).status_code == 200
        return len(queries)

    assert queries_with(2) == queries_with(60) <= 20


def test_the_managed_base_pages_through_segments_in_priority_order(mgr_a, mgr_b, client_for):
    """The default order (segment priority, then name; non-target customers last), read
    segment by segment: pages that end inside a segment, span segments, skip a segment
    whose customers are all someone else's, and the reverse order."""
    first = Segment.objects.create(name="First", priority=1)
    hidden = Segment.objects.create(name="Hidden", priority=2)
    third = Segment.objects.create(name="Third", priority=3)
    also_third = Segment.objects.create(name="Also third", priority=3)  # ties on priority: by name
    mine = {first: 10, third: 20, also_third: 3, None: 15}
    for segment, count in mine.items():
        for n in range(count):
            CustomerFactory(manager=mgr_a, segment=segment, name=f"{segment or 'none'} {n:02d}")
    CustomerFactory(segment=None, manager=None, name="Pool customer")  # the pool: visible
    for n in range(30):
        CustomerFactory(manager=mgr_b, segment=hidden if n % 2 else first, name=f"Other {n:02d}")

    def expected(descending):
        rows = Customer.objects.visible_to(mgr_a)
        key_of = {s.pk: (-s.priority if descending else s.priority, s.name) for s in Segment.objects.all()}
        ordered = sorted(
            rows, key=lambda c: ((1, 0, "") if c.segment_id is None else (0, *key_of[c.segment_id]), c.name)
        )
        return [c.name for c in ordered]

    client = client_for(mgr_a)
    for descending in (False, True):
        names = []
        for page in (1, 2):
            params = {"page": page, **({"sort": "-segment"} if descending else {})}
            names += [row.record.name for row in managed_base(client, **params).context["table"].page.object_list]
        assert names == expected(descending), descending
        assert len(names) == 10 + 20 + 3 + 15 + 1  # mgr_a's and the pool's, none of mgr_b's
    # a filter narrows every segment's walk; per_page moves the page's end
    page = managed_base(client, q="third", per_page=7, page=2).context["table"].page
    assert [row.record.name for row in page.object_list] == [n for n in expected(False) if "third" in n.lower()][7:14]


def test_the_managed_base_sorts_by_maturity_within_one_segment_and_across_segments(mgr_a, client_for):
    """One segment: sorted by the count of targets in use (the same order: one target
    count); several segments: by maturity itself (2 of 4 comes after 2 of 3)."""
    products = ProductFactory.create_batch(4)
    three = make_segment(name="Three", products=products[:3])
    four = Segment.objects.create(name="Four", priority=2)
    for product in products:
        PortraitEntry.objects.create(segment=four, product=product)
    in_use = {(three, 0): 0, (three, 1): 2, (three, 2): 1, (three, 3): 3, (four, 0): 2, (four, 1): 4, (four, 2): 0}
    for (segment, n), count in in_use.items():
        customer = CustomerFactory(manager=mgr_a, segment=segment, name=f"{segment.name} {n}")
        for product in products[:count]:
            status(customer, product, "in_use", date(2026, 1, 5))
    client = client_for(mgr_a)

    def maturities(**params):
        rows = managed_base(client, **params).context["table"].page.object_list
        return [(row.record.name, row.record.in_use_count, row.record.target_count) for row in rows]

    assert [m[1] for m in maturities(segment=three.pk, sort="-maturity")] == [3, 2, 1, 0]
    assert [m[1] for m in maturities(segment=three.pk, sort="maturity")] == [0, 1, 2, 3]
    assert [m[1] for m in maturities(segment=four.pk, sort="-maturity")] == [4, 2, 0]
    across = [(n, t) for _, n, t in maturities(sort="-maturity")]
    assert [n / t for n, t in across] == sorted((n / t for n, t in across), reverse=True)
    assert across.index((2, 3)) < across.index((2, 4)) and len(across) == 7


def test_the_managed_base_pages_one_segment_by_maturity_ties_by_name(mgr_a, mgr_b, client_for):
    """One segment by maturity: the page's rows are the segment's visible customers by
    targets in use, ties by name (then id), page after page, in both directions; statuses
    of other products, other statuses and a colleague's customers do not count; the
    export lists the same order."""
    products = ProductFactory.create_batch(4)
    segment = make_segment(name="Three", products=products[:3])
    other = make_segment(name="Other", products=products, priority=2)
    counts = [2, 0, 3, 1, 2, 0, 1, 2, 3, 0, 1, 2]
    for n, count in enumerate(counts):
        # names run against the ids, so a tie broken by id would read backwards
        customer = CustomerFactory(manager=mgr_a, segment=segment, name=f"Customer {len(counts) - n:02d}")
        for product in products[:count]:
            status(customer, product, "in_use", date(2026, 1, 5))
        status(customer, products[3], "in_use", date(2026, 1, 5))  # not a target of this segment
        if count < 3:
            status(customer, products[count], "offered", date(2026, 1, 5))
    hidden = CustomerFactory(manager=mgr_b, segment=segment, name="Colleague's")
    for product in products[:3]:
        status(hidden, product, "in_use", date(2026, 1, 5))
    CustomerFactory(manager=mgr_a, segment=other, name="Other segment")
    client = client_for(mgr_a)
    rows = list(Customer.objects.filter(manager=mgr_a, segment=segment))
    in_use = {c.pk: CustomerProduct.objects.filter(customer=c, product__in=products[:3], status="in_use").count()
              for c in rows}  # fmt: skip
    for sort, sign in (("-maturity", -1), ("maturity", 1)):
        ordered = sorted(rows, key=lambda c: (sign * in_use[c.pk], c.name, c.pk))
        expected = [c.name for c in ordered]
        shown = []
        for page in (1, 2, 3):
            table = managed_base(client, segment=segment.pk, sort=sort, per_page=5, page=page).context["table"]
            shown += [(row.record.name, row.record.in_use_count) for row in table.page.object_list]
        assert [name for name, _ in shown] == expected, sort
        assert [n for _, n in shown] == [in_use[c.pk] for c in ordered]
        exported = list(csv.reader(io.StringIO(
            managed_base(client, segment=segment.pk, sort=sort, _export="csv").content.decode("utf-8-sig")
        )))  # fmt: skip
        assert [row[1] for row in exported[1:]] == expected, sort


# ProductStatusColumn.render as it was before the page drew the cells itself (django-tables2's
# per-cell code called it for every product and row)
def old_status_cell(status):
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe

    if status is None:
        return mark_safe('<span class="product-status status-not_offered badge">–</span>')
    date = f" {status.status_date:%d.%m.%y}" if status.status_date else ""
    return format_html(
        '<span class="badge product-status status-{}" title="{}">{}{}</span>',
        status.status,
        status.get_status_display(),
        status.get_status_display(),
        date,
    )


def test_the_managed_base_draws_the_same_table_as_django_tables2(mgr_a, client_for):
    """The page's body (product and offer cells drawn by cell_html) is the markup of
    django-tables2's bootstrap5 template (every cell through BoundRow.get_cell and the
    columns' render), and each product cell the badge the old render() drew."""
    import re

    from django.template import Context, Template

    from customers.managed_base import ProductStatusColumn

    products = [ProductFactory(name="Film <A> & co"), ProductFactory(name='Tape "wide"'), ProductFactory()]
    make_segment(products=products)
    make_segment(name="Others <b>", products=products[:1], priority=2)
    customers = [
        CustomerFactory(manager=mgr_a, industry="Manufacturing", name=name)
        for name in ("Maker <One>", "Maker & Two", "Maker 3", "Maker 4")
    ]
    CustomerFactory(manager=mgr_a, industry="Retail", name="Non-target 'shop'")
    status(customers[0], products[0], "in_use", date(2026, 1, 5))
    status(customers[0], products[1], "refused", date(2026, 11, 20))
    status(customers[1], products[0], "offered", date(2026, 3, 1))
    status(customers[1], products[2], "contract", date(2025, 12, 31))
    status(customers[2], products[1], "not_offered")  # no date
    status(customers[3], products[2], "in_use", date(2026, 2, 28))
    from customers.segment_rules import segments_assign

    segments_assign()
    client = client_for(mgr_a)

    def tbody(html):
        html = " ".join(html[html.index("<tbody") : html.index("</tbody>")].replace("><", "> <").split())
        # a second drawing of the same table counts its rows on (django-tables2's parity)
        return re.sub(r'<tr class="(even|odd)">', "<tr>", html)

    for params in ({}, {"sort": "-maturity"}, {"sort": "name", "line": ""}):
        response = managed_base(client, **params)
        parities = re.findall(r'<tr class="(even|odd)">', response.content.decode())
        assert parities == ["even", "odd"] * (len(parities) // 2) + ["even"] * (len(parities) % 2)
        assert len(parities) == 5
        page = tbody(response.content.decode())
        table = response.context["table"]
        table.template_name = "django_tables2/bootstrap5-responsive.html"
        html = Template("{% load django_tables2 %}{% render_table table %}").render(
            Context({"table": table, "request": response.wsgi_request})
        )
        assert page == tbody(html)
        # the product cells, row by row, are the badges the old render() drew
        statuses = {(s.customer_id, s.product_id): s for s in CustomerProduct.objects.all()}
        shown = [c.column.product.pk for c in table.columns if isinstance(c.column, ProductStatusColumn)]
        assert len(shown) == len(products)
        expected = [
            " ".join(str(old_status_cell(statuses.get((row.record.pk, pk)))).split())
            for row in table.paginated_rows
            for pk in shown
        ]
        drawn = re.findall(r'<span class="[^"]*product-status[^"]*"[^>]*>[^<]*</span>', page)
        assert drawn == expected
        assert "Film &lt;A&gt; &amp; co" in response.content.decode() and "Maker &lt;One&gt;" in page
        assert "In use 05.01.26" in page and "Refused 20.11.26" in page and 'title="Not offered">Not offered<' in page


# customers/_card_products.html's loops as they were before the row was written in Python
TEMPLATE_BADGES = """{% for cell in product_row %}
      <span class="badge product-status status-{{ cell.code }}{% if not cell.target %} opacity-75{% endif %}" title="{{ cell.product }}{% if cell.status.refusal_reason %}: {{ cell.status.refusal_reason }}{% endif %}">{{ cell.product.name }}: {% if cell.status %}{{ cell.status.get_status_display }}{% if cell.status.status_date %} {{ cell.status.status_date|date:"j M y" }}{% endif %}{% else %}Not offered{% endif %}</span>
    {% endfor %}"""  # noqa: E501
TEMPLATE_OPTIONS = """{% for cell in product_row %}<option value="{{ cell.product.pk }}">{{ cell.product.name }}</option>{% endfor %}"""  # noqa: E501


def test_the_product_row_written_in_python_is_the_templates_row(db):
    from django.template import engines

    from customers.product_row_html import product_badges, product_options
    from customers.selectors.profiles import customer_product_row

    in_use, refused, fresh, other = (
        ProductFactory(name="Film <A> & co"), ProductFactory(name="Tape"), ProductFactory(), ProductFactory()
    )
    make_segment(products=[in_use, refused, fresh])
    customer = CustomerFactory()
    status(customer, in_use, "in_use", date(2026, 3, 4))
    status(customer, refused, "refused", date(2026, 5, 27))
    CustomerProduct.objects.filter(customer=customer, product=refused).update(refusal_reason='Too "dear" <now>')
    status(customer, other, "offered", date(2026, 11, 1))  # not a target: faded
    customer = Customer.objects.select_related("segment").get(pk=customer.pk)
    row = customer_product_row(customer)
    assert len(row) == 4
    engine = engines["django"]
    assert product_badges(row) == engine.from_string(TEMPLATE_BADGES).render({"product_row": row})
    assert product_options(row) == engine.from_string(TEMPLATE_OPTIONS).render({"product_row": row})
    assert product_badges([]) == "" == product_options([])


# The portrait matrix's loops as customers/portrait.html wrote them before they moved to Python.
TEMPLATE_PORTRAIT_HEAD = """{% for p in products %}<th class="small" title="{{ p.line|default:'' }}">{{ p.name }}<br><span class="text-muted">{{ p.line|default:"" }}</span></th>{% endfor %}"""  # noqa: E501
TEMPLATE_PORTRAIT_ROWS = """{% for row in rows %}<tr><th class="text-start">{{ row.segment.name }}</th>
    {% for p, checked in row.cells %}<td>
      <input class="form-check-input" type="checkbox" name="mark" value="{{ row.segment.pk }}-{{ p.pk }}" aria-label="{{ row.segment.name }}: {{ p.name }}"
        {% if checked %}checked{% endif %}{% if not can_edit %} disabled{% endif %}></td>{% endfor %}</tr>
  {% endfor %}"""  # noqa: E501


def test_the_portrait_matrix_written_in_python_is_the_templates_matrix(db):
    from django.template import engines

    from customers.models import ProductLine
    from customers.portrait_html import portrait_head, portrait_rows

    line = ProductLine.objects.create(name='Film "thin" & <wide>')
    wrap, loose = ProductFactory(name="Wrap <A> & co", line=line), ProductFactory(name="Loose 'one'", line=None)
    makers, builders = make_segment(name="Makers & <sons>", products=[wrap]), make_segment(name="Builders", priority=2)
    products = portrait.portrait_products("all")
    segments = [makers, builders]
    marks = set(PortraitEntry.objects.values_list("segment_id", "product_id"))
    assert marks == {(makers.pk, wrap.pk)} and [p.pk for p in products] == [wrap.pk, loose.pk]
    engine = engines["django"]
    rows = [{"segment": s, "cells": [(p, (s.pk, p.pk) in marks) for p in products]} for s in segments]
    assert portrait_head(products) == engine.from_string(TEMPLATE_PORTRAIT_HEAD).render({"products": products})
    for can_edit in (True, False):
        expected = engine.from_string(TEMPLATE_PORTRAIT_ROWS).render({"rows": rows, "can_edit": can_edit})
        assert portrait_rows(segments, products, marks, can_edit) == expected
    assert "&lt;sons&gt;: Wrap &lt;A&gt; &amp; co" in expected and expected.count(" disabled") == 4
    assert portrait_head([]) == "" == portrait_rows([], products, marks, True)


def test_a_long_list_of_untargeted_products_shows_twelve_names_and_folds_the_rest(dir_1, client_for):
    for n in range(14):
        ProductFactory(name=f"Gadget {n:02d}")
    make_segment(products=[])
    page = client_for(dir_1).get(reverse("customers:portrait")).content.decode()
    start = page.index('id="untargeted"')
    notice = page[start : page.index("</div>", start)]
    shown, folded = notice.split("<details", 1)
    assert [f"Gadget {n:02d}" in shown for n in range(14)] == [True] * 12 + [False] * 2
    assert "and 2 more</summary><strong>Gadget 12</strong>, <strong>Gadget 13</strong></details>" in folded


def test_the_portrait_without_segments_says_so(dir_1, client_for):
    ProductFactory(name="Press")
    page = client_for(dir_1).get(reverse("customers:portrait")).content.decode()
    assert "No segments yet." in page and 'type="checkbox"' not in page and "<th class=\"small\"" in page
