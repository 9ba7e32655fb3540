"""crm_project.tables and form_tags: the cheaper rendering shows what django-tables2's and
crispy's did (issue 15)."""

from datetime import UTC, date, datetime

import django_tables2 as tables
import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_tables2 import utils as tables_utils
from django_tables2.columns import DateColumn, DateTimeColumn

from crm_project import tables as crm_tables
from crm_project.form_tags import bootstrap_field, bootstrap_form
from customers.models import Customer


def test_signature_is_cached_and_the_same_as_uncached():
    class Column:
        def render(self, value, record):
            return value

    def free(value, **kwargs):
        return value

    for fn in (Column().render, Column().render, free, lambda record: record):
        assert crm_tables.cached_signature(fn) == crm_tables._uncached_signature(fn)
    assert tables_utils.signature is crm_tables.cached_signature  # installed at start-up
    assert Column.render in crm_tables._signatures


@pytest.mark.parametrize("value", [date(2026, 3, 1), datetime(2026, 3, 1, 23, 30, tzinfo=UTC)])
def test_lean_date_columns_render_and_export_like_django_tables2(settings, value):
    settings.TIME_ZONE = "Europe/Berlin"  # the aware datetime is shown on the next day
    if isinstance(value, datetime):
        lean, original = crm_tables.LeanDateTimeColumn(), DateTimeColumn()
    else:
        lean, original = crm_tables.LeanDateColumn(), DateColumn()
    expected = Template(original.template_code).render(Context({"value": value, "default": ""}))
    assert lean.render(value) == expected
    assert lean.value(value) == original.value(value=value)


class _Table(tables.Table):
    name = tables.Column(attrs={"td": {"class": "text-end"}})
    when = tables.DateColumn()
    flag = tables.Column(attrs={"td": {"data-id": lambda record: record["id"]}})

    class Meta:
        row_attrs = {"class": lambda record: "hot" if record["id"] == 2 else ""}


def test_table_rows_match_the_bootstrap_template():
    rows = [
        {"id": 1, "name": "<b>A</b>", "when": date(2026, 1, 2), "flag": 1},
        {"id": 2, "name": "B", "when": None, "flag": 2},
    ]
    request = RequestFactory().get("/")

    def body(template_name):
        table = _Table(rows, template_name=template_name)
        html = Template("{% load django_tables2 %}{% render_table table %}").render(
            Context({"table": table, "request": request})
        )
        return " ".join(html[html.index("<tbody") : html.index("</tbody>")].replace("><", "> <").split())

    lean = body("generic/table.html")
    assert lean == body("django_tables2/bootstrap5-responsive.html")
    assert "&lt;b&gt;A&lt;/b&gt;" in lean and 'data-id="2"' in lean and 'class="hot odd"' in lean


class _Form(forms.Form):
    q = forms.CharField(label="Search", required=False, help_text="Name or <ref>")
    kind = forms.ChoiceField(choices=[("", "Any"), ("a", "A")], required=False)
    flag = forms.BooleanField(required=False)
    count = forms.IntegerField(required=True)


def test_bootstrap_form_lays_out_fields_with_bootstrap_classes_and_errors():
    form = _Form(data={"count": "x", "q": "<script>"})
    html = bootstrap_form(form)
    assert 'class="form-control"' in html and 'class="form-select"' in html and 'class="form-check-input"' in html
    assert 'class="form-control is-invalid"' in html  # count
    assert "Enter a whole number." in html
    assert "Name or &lt;ref&gt;" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert '<label for="id_q" class="form-label">Search</label>' in html
    assert bootstrap_field(form["count"]).count('class="asteriskField"') == 1


class _Selects(forms.Form):
    # a required select, a grouped one with a pre-selected value, a multiple one, odd
    # labels and values (escaping, numbers, a safe string) and attrs with True/False
    plain = forms.ChoiceField(choices=[("", "Any"), ("a&b", "A & <b>"), (3, 1234.5)])
    grouped = forms.ChoiceField(
        choices=[("", "---"), ("Group <1>", [("x", "X"), ("y", "Y")]), ("z", "Z")],
        required=False,
        widget=forms.Select(attrs={"data-on": True, "data-off": False, "title": 'say "hi"'}),
    )
    many = forms.MultipleChoiceField(choices=[("1", "One"), ("2", "Two"), ("3", "Three")], required=False)
    yes_no = forms.NullBooleanField(required=False)


@pytest.mark.parametrize(
    "data",
    [None, {"plain": "a&b", "grouped": "y", "many": ["1", "3"], "yes_no": "true"}, {"plain": "nope", "many": ["9"]}],
)
def test_lean_select_renders_exactly_as_django_templates(data):
    from crm_project.form_tags import as_widget

    form = _Selects(data=data, initial={"grouped": "z"})
    for name in ("plain", "grouped", "many", "yes_no"):
        field = form[name]
        for attrs in (None, {"class": "form-select is-invalid"}):
            assert as_widget(field, attrs) == field.as_widget(attrs=attrs), name


class _Inputs(forms.Form):
    text = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": 'a "b" <c>', "data-x": True}))
    number = forms.DecimalField(required=False, localize=True)
    day = forms.DateField(required=False)
    mail = forms.EmailField(required=False)
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"text": "<script>&", "number": "1234.5", "day": "2026-03-01", "mail": "a@b.c", "hidden": "x"},
        {"day": "no"},
    ],
)
def test_lean_input_renders_exactly_as_django_templates(data):
    from crm_project.form_tags import _lean_input, as_widget

    form = _Inputs(data=data, initial={"day": date(2026, 1, 2), "number": 5})
    for name in ("text", "number", "day", "mail", "hidden"):
        field = form[name]
        assert _lean_input(field.field.widget)
        for attrs in (None, {"class": "form-control is-invalid"}):
            assert as_widget(field, attrs) == field.as_widget(attrs=attrs), name
    assert not _lean_input(forms.PasswordInput()) and not _lean_input(forms.ClearableFileInput())


def test_lean_select_leaves_other_widgets_to_django():
    from crm_project.form_tags import _lean_select

    assert all(_lean_select(widget) for widget in (forms.Select(), forms.SelectMultiple(), forms.NullBooleanSelect()))
    assert not _lean_select(forms.RadioSelect()) and not _lean_select(forms.CheckboxSelectMultiple())
    assert not _lean_select(type("Own", (forms.Select,), {"template_name": "own/select.html"})())


def test_a_fields_first_error_carries_the_id_its_widget_is_described_by():
    form = _Form(data={"count": "x"})
    html = str(bootstrap_field(form["count"]))
    assert 'aria-describedby="id_count_error"' in html
    assert html.count('id="id_count_error"') == 1
    assert '<div id="id_count_error" class="invalid-feedback d-block">' in html


def _tables(response):
    """The list's table (head, body, page links) as the page drew it, and as
    django-tables2's own template draws the same table; blanks around tags left out."""
    import re
    from itertools import count

    table = response.context["table"]
    table._counter = count()  # the rows' odd/even count, as for the first rendering

    def markup(html):
        html = html[html.index("<table") :]
        html = html[: html.index("</nav>") if "</nav>" in html else html.index("</table>")]
        return re.sub(r"\s*([<>])\s*", r"\1", " ".join(html.split()))

    original = Template(
        "{% load django_tables2 %}{% render_table table 'django_tables2/bootstrap5-responsive.html' %}"
    ).render(Context({"table": table, "request": response.wsgi_request}))
    return markup(response.content.decode()), markup(original)


@pytest.mark.django_db
def test_the_customer_list_is_django_tables2s(mgr_a, pool_customer, client_for):
    from tests.factories import CustomerFactory

    CustomerFactory(manager=mgr_a, name="<b>Bold</b> & Co", kind="person", phone="")
    CustomerFactory(manager=mgr_a, city="")
    CustomerFactory.create_batch(10, manager=mgr_a)
    client = client_for(mgr_a)
    lean, original = _tables(client.get("/customers/"))
    assert lean == original
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in lean and "— pool —" in lean and lean.count("<tr") == 14
    for query in ("?per_page=2&page=2&sort=-name&city=lee", "?per_page=1&page=7&q=ltd", "?per_page=1&page=13"):
        lean, original = _tables(client.get("/customers/" + query))
        assert lean == original, query
        assert "page-link" in lean and "sort=" in lean, query


@pytest.mark.django_db
def test_the_deal_list_is_django_tables2s(mgr_a, client_for):
    from decimal import Decimal

    from tests.sales_pipeline.test_pipeline import open_deal

    open_deal(mgr_a, title="<i>Big</i>", lines=[(Decimal("1234.5"), 2, 0)], source="Fair")
    open_deal(mgr_a, expected_close=None)
    for path in ("/deals/list/", "/deals/list/?sort=-amount", "/deals/list/?per_page=1&page=2"):
        lean, original = _tables(client_for(mgr_a).get(path))
        assert lean == original, path
        assert "Presentation" in lean and lean.count("<tr") in (2, 3), path


@pytest.mark.django_db
def test_lean_select_of_a_model_choice_field_renders_as_django(mgr_a, mgr_b):
    from django.contrib.auth import get_user_model

    from crm_project.form_tags import as_widget

    class Pick(forms.Form):
        who = forms.ModelChoiceField(queryset=get_user_model().objects.order_by("username"), required=False)

    for data in (None, {"who": str(mgr_b.pk)}, {"who": "nope"}):
        field = Pick(data=data)["who"]
        assert as_widget(field, {"class": "form-select"}) == field.as_widget(attrs={"class": "form-select"})
        assert "mgr_a" in as_widget(field)


@pytest.mark.django_db
def test_a_values_choice_filter_draws_the_options_of_a_model_choice_filter():
    """crm_project.filters.ValuesModelChoiceFilter: the same <select> (keys, labels,
    selection, escaping) as django-filter's ModelChoiceFilter, from values, and the same
    filtering."""
    import django_filters

    from complaints.filters import ComplaintFilterSet, SurveyFilterSet
    from complaints.models import Complaint
    from crm_project.filters import ValuesModelChoiceFilter
    from customers.models import Product
    from tests.factories import ProductFactory

    ProductFactory(sku="S-1", name="<b>Bolt</b> & nut")
    ProductFactory(sku="S-2", name="S-2")  # the name is the SKU: shown once
    chosen = ProductFactory(sku="S-3", name="Anvil")

    class Original(django_filters.FilterSet):
        product = django_filters.ModelChoiceFilter(queryset=Product.objects.all(), empty_label="Any product")

        class Meta:
            model = Complaint
            fields = ["product"]

    class Lean(django_filters.FilterSet):
        product = ValuesModelChoiceFilter(
            queryset=Product.objects.all(),
            label_fields=("name", "sku"),
            label_from_values=Product.label,
            empty_label="Any product",
        )

        class Meta:
            model = Complaint
            fields = ["product"]

    for data in ({}, {"product": str(chosen.pk)}, {"product": "nope"}):
        lean, original = Lean(data=data).form["product"], Original(data=data).form["product"]
        assert bootstrap_field(lean) == bootstrap_field(original), data
        assert lean.field.widget.render("product", lean.value()) == original.field.widget.render(
            "product", original.value()
        ), data
        # the options drawn once are drawn again when the rows change
        ProductFactory(sku=f"S-{len(data) + 4}", name="Added")
        lean, original = Lean(data=data).form["product"], Original(data=data).form["product"]
        assert bootstrap_field(lean) == bootstrap_field(original), data
    html = bootstrap_field(Lean(data={}).form["product"])
    assert "&lt;b&gt;Bolt&lt;/b&gt; &amp; nut (S-1)" in html and ">S-2</option>" in html and ">Added (S-5)<" in html
    assert html.count(" selected") == 1  # the empty choice
    html = bootstrap_field(Lean(data={"product": str(chosen.pk)}).form["product"])
    assert f'<option value="{chosen.pk}" selected>Anvil (S-3)</option>' in html and html.count(" selected") == 1
    assert Lean(data={"product": str(chosen.pk)}).form.is_valid()
    assert not Lean(data={"product": "0"}).form.is_valid()
    for filterset in (ComplaintFilterSet, SurveyFilterSet):
        assert isinstance(filterset.base_filters["product"], ValuesModelChoiceFilter)
    # drawn by values_select (the options kept per process), not by render_select
    from crm_project.form_tags import values_select

    widget = Lean(data={}).form["product"].field.widget
    assert values_select(widget, "product", None, {}) is not None
    assert values_select(Original(data={}).form["product"].field.widget, "product", None, {}) is None


def test_days_are_formatted_once_per_format_and_language_with_the_same_text(settings):
    """crm_project.tables.day_format: formats.date_format's text, kept per format,
    language and day; a datetime column whose format shows only the day uses it."""
    from django.utils import formats, translation

    settings.TIME_ZONE = "Europe/Berlin"
    day = date(2026, 3, 1)
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2 March in Berlin
    for language in ("en-gb", "de", "en-gb"):
        with translation.override(language):
            for name in ("SHORT_DATE_FORMAT", "DATE_FORMAT", "j M Y", "D, j F Y"):
                assert crm_tables.day_format(day, name) == formats.date_format(day, name), (language, name)
                column = crm_tables.LeanDateTimeColumn(format=name)
                assert column.render(late) == formats.date_format(late.astimezone(column_zone()), name)
            assert crm_tables.LeanDateColumn().render(day) == formats.date_format(day, "SHORT_DATE_FORMAT")
    assert crm_tables._day_only("j M Y") and crm_tables._day_only(r"\a\t j M")
    assert not crm_tables._day_only("SHORT_DATETIME_FORMAT") and not crm_tables._day_only("j M Y H:i")
    assert not crm_tables._day_only("r") and not crm_tables._day_only("U")


def column_zone():
    from django.utils import timezone

    return timezone.get_current_timezone()


def test_a_changed_format_setting_empties_the_kept_days(settings):
    crm_tables.day_format(date(2026, 3, 1), "SHORT_DATE_FORMAT")
    assert crm_tables._days
    settings.FORMAT_MODULE_PATH = None  # any format setting (or the language, the zone)
    assert not crm_tables._days and not crm_tables._day_only_formats


def test_moments_are_formatted_once_per_format_language_and_wall_time_with_the_same_text(settings):
    """crm_project.tables.moment_format: a datetime column whose format shows only the
    wall-clock day and time keeps each moment's text; the text is date_format's for the
    moment in the current zone, in each language and zone; formats reading the zone, DST or
    the epoch are never kept."""
    from django.utils import formats, timezone, translation

    moments = [datetime(2026, 3, 1, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 0, 5, 7, 120, tzinfo=UTC)]
    for zone in ("Europe/Berlin", "America/New_York", "Europe/Berlin"):
        settings.TIME_ZONE = zone
        for language in ("en-gb", "de", "en-gb"):
            with translation.override(language):
                for name in ("SHORT_DATETIME_FORMAT", "DATETIME_FORMAT", "j M Y H:i:s.u", "P A g h", "c", "r", "j M T"):
                    column = crm_tables.LeanDateTimeColumn(format=name)
                    for moment in moments:
                        expected = formats.date_format(timezone.localtime(moment), name)
                        assert column.render(moment) == expected, (zone, language, name)
    column = crm_tables.LeanDateTimeColumn()
    for zone in ("Asia/Tokyo", "UTC"):  # a zone activated per request, no setting changed
        with timezone.override(zone):
            assert column.render(moments[0]) == formats.date_format(timezone.localtime(moments[0]), column.format)
    assert crm_tables._wall_only("SHORT_DATETIME_FORMAT") and crm_tables._wall_only("j M Y H:i:s.u")
    assert not any(crm_tables._wall_only(name) for name in ("c", "r", "U", "j M T", "H:i O", "e", "I"))
    kept = {key[0] for key in crm_tables._moments}
    assert "SHORT_DATETIME_FORMAT" in kept and not kept & {"c", "r", "j M T"}
    settings.FORMAT_MODULE_PATH = None  # any format setting empties them
    assert not crm_tables._moments and not crm_tables._wall_only_formats


@pytest.mark.django_db
def test_email_cells_are_drawn_as_django_tables2s_without_asking_the_row(mgr_a, client_for, monkeypatch):
    from django_tables2.rows import BoundRow

    from tests.factories import CustomerFactory

    # given customers with an awkward email, a plain one and none
    CustomerFactory(manager=mgr_a, email="o'neil&co<x>@example.com")
    CustomerFactory(manager=mgr_a)
    CustomerFactory(manager=mgr_a, email="")
    asked = []
    original_get_cell = BoundRow.get_cell
    monkeypatch.setattr(BoundRow, "get_cell", lambda row, name: asked.append(name) or original_get_cell(row, name))
    # when the list is drawn
    response = client_for(mgr_a).get("/customers/")
    lean_cells = list(asked)
    lean, original = _tables(response)
    # then every cell, mailto: links included, is what django-tables2 draws, and no cell
    # of the page went through BoundRow.get_cell
    assert lean == original
    assert 'href="mailto:o&#x27;neil&amp;co&lt;x&gt;@example.com"' in lean
    assert lean_cells == []


class _Amounts(tables.Table):
    amount = tables.Column()
    who = tables.Column()


@pytest.mark.parametrize("language", ["en-gb", "de", "fr"])
@pytest.mark.parametrize("grouping", [False, True])
def test_decimals_and_objects_are_drawn_as_the_template_draws_them(settings, language, grouping):
    from decimal import Decimal

    from django.contrib.auth.models import User
    from django.utils import translation

    # given decimals of several shapes and a model object whose text needs escaping
    settings.USE_THOUSAND_SEPARATOR = grouping
    rows = [
        {"amount": Decimal(text), "who": User(username="<o'neil>")}
        for text in ("1234567.50", "0.00", "-1234.5", "1E+3", "12", "0.000001")
    ]
    request = RequestFactory().get("/")

    def body(template_name):
        table = _Amounts(rows, template_name=template_name)
        html = Template("{% load django_tables2 %}{% render_table table %}").render(
            Context({"table": table, "request": request})
        )
        return " ".join(html[html.index("<tbody") : html.index("</tbody>")].replace("><", "> <").split())

    # when the body is drawn in the language
    with translation.override(language):
        lean, original = body("generic/table.html"), body("django_tables2/bootstrap5-responsive.html")
    # then it is django-tables2's template's, cell for cell
    assert lean == original
    assert "&lt;o&#x27;neil&gt;" in lean


@pytest.mark.parametrize(
    "query",
    ["", "a=1", "sort=-name&city=lee&page=2", "q=%C3%A9t%C3%A9+%26+co&q=x&page=", "page=3&per_page=5&x=&y=%3Cb%3E"],
)
def test_the_query_string_links_are_django_tables2s(query):
    from django.utils.html import escape
    from django.utils.http import urlencode

    from crm_project.tables import _querystring

    # given a request's query string, encoded once per request for its links
    request = RequestFactory().get("/?" + query)
    for key, value in [("sort", "-name"), ("page", 7), ("", None), ("new", "a&b"), ("q", ["x", "y"]), ("city", "é")]:
        # when a link sets one parameter, then it reads as querystring_replace's
        params = dict(request.GET)
        if key:
            params[key] = value
        assert _querystring(request, key, value) == escape("?" + urlencode(params, doseq=True)), (key, value)


# Rows that tie on the sorted column keep one order: the primary key sorts them last


@pytest.mark.django_db
def test_a_list_sorted_on_a_tied_column_pages_through_every_row_once(mgr_a, client_for):
    from django.conf import settings

    from tests.factories import CustomerFactory

    same_moment = timezone.now()
    customers = [CustomerFactory(manager=mgr_a, name=f"Tied {n:02d}") for n in range(2 * settings.LIST_PAGE_SIZE + 5)]
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(created_at=same_moment)
    client = client_for(mgr_a)
    seen = []
    for page in (1, 2, 3):
        response = client.get(reverse("customers:customer_list"), {"sort": "-created_at", "page": page})
        seen += [row.record.pk for row in response.context["table"].page.object_list]
    assert sorted(seen) == sorted(c.pk for c in customers)  # none twice, none missing
    assert seen == sorted(seen, reverse=True)  # the ties by key, in the sort's direction


def test_stable_order_appends_the_key_once_in_the_last_keys_direction():
    from django.db.models import F

    from crm_project.tables import stable_order

    def ordering(queryset):
        return list(queryset.query.order_by)

    assert ordering(stable_order(Customer.objects.order_by("name"))) == ["name", "pk"]
    assert ordering(stable_order(Customer.objects.order_by("city", "-created_at"))) == ["city", "-created_at", "-pk"]
    assert ordering(stable_order(Customer.objects.order_by("-id"))) == ["-id"]
    assert ordering(stable_order(Customer.objects.order_by("name", "pk"))) == ["name", "pk"]
    assert ordering(stable_order(Customer.objects.all())) == []  # no explicit order: the model's own
    descending = stable_order(Customer.objects.order_by(F("name").desc()))
    assert ordering(descending)[-1] == "-pk"


@pytest.mark.django_db
def test_the_table_sorts_with_the_key_last():
    from customers.tables import CustomerTable

    table = CustomerTable(Customer.objects.all(), order_by=("-created_at",))
    assert list(table.data.data.query.order_by) == ["-created_at", "-pk"]


@pytest.mark.django_db
def test_settlement_lines_break_a_days_ties_by_customer_before_the_key():
    """A day holds thousands of lines: by customer within it the ledger's (date, customer)
    index gives the order, and the key sorts only a customer's lines of the day (the key
    straight after the date made PostgreSQL sort a whole day's lines: 19 ms against 0.2)."""
    from sales_pipeline.models import SettlementLine
    from sales_pipeline.tables import SettlementLineTable

    table = SettlementLineTable(SettlementLine.objects.all())
    assert list(table.data.data.query.order_by) == ["-date", "-customer_id", "-pk"]
    table = SettlementLineTable(SettlementLine.objects.all(), order_by=("date",))
    assert list(table.data.data.query.order_by) == ["date", "customer_id", "pk"]


def test_a_choice_fields_labels_are_looked_up_once_per_process():
    """crm_project.tables._own_choices: worked out once per model field (issue 15), the same
    map for every table; a get_FOO_display of the model's own is still asked per record."""
    from complaints.models import Complaint, Step

    step = Complaint._meta.get_field("step")
    first = crm_tables._own_choices(Complaint, step, "get_step_display")
    assert first == dict(Step.choices)
    assert crm_tables._own_choices(Complaint, step, "get_step_display") is first
    assert crm_tables._own_choices(Complaint, step, "get_kind_display") is None  # another field's display
