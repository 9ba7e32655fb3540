"""The managed base: customers by segment, one column per target product, each cell the
customer's status with that product and its date, plus maturity and (through
hooks.CUSTOMER_COLUMNS) classes."""

import django_filters
import django_tables2 as tables
from django.db import connection
from django.db.models import Count, F, QuerySet
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from crm_project.filters import YesNoFilter

from . import lists
from .access import managers_visible
from .filters import customer_search
from .models import Customer, CustomerProduct, PortraitEntry, Product, ProductLine, Segment
from .portrait import offer_next_for


def target_products(line_id=None):
    products = Product.objects.filter(is_active=True, portrait_entries__isnull=False).distinct()
    if line_id:
        products = products.filter(line_id=line_id)
    return list(products.select_related("line").order_by("line__name", "name"))


class ManagedBaseFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    manager = django_filters.ModelChoiceFilter(queryset=managers_visible, empty_label=_("Any manager"))
    segment = django_filters.ModelChoiceFilter(queryset=Segment.objects.all(), empty_label=_("Any segment"))
    non_target = YesNoFilter(field_name="segment", lookup_expr="isnull", label=_("Non-target"))
    line = django_filters.ModelChoiceFilter(
        queryset=ProductLine.objects.all(), method="noop", label=_("Product line (columns)"), empty_label=_("All lines")
    )
    product_status = django_filters.ChoiceFilter(
        choices=CustomerProduct.Status.choices,
        method="with_status",
        label=_("Has a product"),
        empty_label=_("Any product status"),
    )

    class Meta:
        model = Customer
        fields = ["q", "manager", "segment", "non_target", "line", "product_status"]

    def search(self, queryset, name, value):
        return customer_search(queryset, value)

    def noop(self, queryset, name, value):
        return queryset  # chooses the columns, not the rows

    def with_status(self, queryset, name, value):
        """Customers with at least one shown product in that status (not offered: none recorded)."""
        line = self.form.cleaned_data.get("line")
        products = Product.objects.filter(portrait_entries__isnull=False)
        if line:
            products = products.filter(line=line)
        recorded = CustomerProduct.objects.filter(product__in=products)
        if value == CustomerProduct.Status.NOT_OFFERED:
            return queryset.exclude(pk__in=recorded.exclude(status=value).values("customer_id"))
        return queryset.filter(pk__in=recorded.filter(status=value).values("customer_id"))


NOT_OFFERED_HTML = mark_safe('<span class="product-status status-not_offered badge">–</span>')  # noqa: S308 - constant


class ProductStatusColumn(tables.Column):
    """A target product's status with the row's customer and its date. The page draws its
    cells with cell_html (crm_project.tables: 25 rows x dozens of products went through
    django-tables2's per-cell code, most of the page's Python time); render() is the same
    markup through django-tables2 (tests compare the two)."""

    def __init__(self, product, **kwargs):
        self.product = product
        super().__init__(verbose_name=product.name, empty_values=(), orderable=False, **kwargs)

    def _record(self, table, customer):
        return table.statuses_for(customer).get(self.product.pk)

    def cell_html(self, record, table):
        status = table.statuses_for(record).get(self.product.pk)
        return NOT_OFFERED_HTML if status is None else table.status_html(status)

    def render(self, record, table):
        status = self._record(table, record)
        if status is None:
            return NOT_OFFERED_HTML
        code, status_date = status
        label = status_label(code)
        date = f" {status_date:%d.%m.%y}" if status_date else ""
        return format_html(
            '<span class="badge product-status status-{}" title="{}">{}{}</span>', code, label, label, date
        )

    def value(self, record, table, **kwargs):
        status = self._record(table, record)
        if status is None:
            return "not offered"
        code, status_date = status
        return f"{code} {status_date:%Y-%m-%d}" if status_date else code


def status_label(code: str):
    """CustomerProduct.get_status_display() for a status code."""
    return dict(CustomerProduct.Status.choices).get(code, code)


class OfferNextColumn(tables.Column):
    """What to offer next; the page draws its cells with cell_html, as render() does."""

    def cell_html(self, record, table):
        return table.render_offer_next(record)


_SEGMENT_PLACEHOLDER = -7_654_321  # no segment has this id


class ManagedBaseTable(tables.Table):
    segment = tables.Column(default=_("non-target"), order_by=("segment__priority", "segment__name", "name"))
    name = tables.Column(linkify=True)
    manager = tables.Column(default=_("— pool —"), order_by=("manager__username",))
    maturity = tables.Column(_("Maturity"), order_by=("maturity",))
    offer_next = OfferNextColumn(_("Offer next"), empty_values=(), orderable=False)

    class Meta:
        model = Customer
        fields = ("segment", "name", "manager", "maturity", "offer_next")
        order_by = ("segment",)

    def __init__(self, data, *, products, one_segment=None, **kwargs):
        self.one_segment = one_segment  # the segment the rows are filtered to, if any
        # the classes' columns (hooks.CUSTOMER_COLUMNS) after maturity, then one per product
        products_columns = [(f"p{p.pk}", ProductStatusColumn(p)) for p in products]
        super().__init__(data, **lists.table_kwargs(ManagedBaseTable, "managed_base", products_columns), **kwargs)
        self.product_ids = [p.pk for p in products]
        self._statuses = None
        self._status_starts = {}
        self._offers = None

    reads_page_keys = True  # paginate() below, not crm_project.pagination's keys-first read

    def paginate(self, *args, **kwargs):
        """The page's customers in two steps: their ids in the chosen order (a narrow sort
        of every visible customer), then the page's rows with every annotation. Sorting the
        full rows of 50,000 customers spilled to disk on PostgreSQL."""
        super().paginate(*args, **kwargs)
        rows = self.page.object_list
        if isinstance(rows.data, QuerySet):
            ids = self._ids_by_segment(rows.data)
            if ids is None:
                ids = self._ids_by_targets_in_use(rows.data)
            if ids is None:
                ids = list(rows.data.values_list("pk", flat=True))
            full = {customer.pk: customer for customer in self.data.data.filter(pk__in=ids).order_by()}
            rows.data = [full[pk] for pk in ids]
        return self

    def _ids_by_segment(self, page_rows: QuerySet) -> list[int] | None:
        """The page's ids in the segment order (order_segment), read segment by segment:
        each segment's customers walk the (segment, name) index, and a segment is read
        only while the segments before it have not filled the page. One query (after
        the segments' order). Sorting every visible customer by its segment's priority
        took 40-80 ms at 50,000 customers; a page inside one segment reads its 25 rows.
        None for any other order (and when the slice is open-ended)."""
        order = tuple(self.order_by or ())
        low, high = page_rows.query.low_mark, page_rows.query.high_mark
        if order not in (("segment",), ("-segment",)) or high is None or high <= low:
            return None
        segments = Segment.objects.order_by("-priority" if order[0].startswith("-") else "priority", "name")
        ranked = [*segments.values_list("pk", flat=True), None]  # non-target customers last
        base = self.data.data.order_by()
        want = high  # rows from the first segments up to the page's end

        def compiled(queryset):
            return queryset.order_by("name", "pk").values_list("pk", "name")[:want].query.sql_with_params()

        # Compiled once for every segment (the segment's id is a parameter: compiling the
        # list's query cost more than running it), once for the non-target customers.
        sql, template_params = compiled(base.filter(segment_id=_SEGMENT_PLACEHOLDER))
        at = [i for i, value in enumerate(template_params) if value == _SEGMENT_PLACEHOLDER]
        if len(at) != 1:
            return None
        parts, params = [], []
        for rank, segment_id in enumerate(ranked):
            if segment_id is None:
                none_sql, none_params = compiled(base.filter(segment__isnull=True))
                parts.append((rank, none_sql))
                params.extend(none_params)
            else:
                parts.append((rank, sql))
                params.extend(segment_id if i == at[0] else value for i, value in enumerate(template_params))
        ctes = ", ".join(f"b{rank} AS MATERIALIZED (SELECT * FROM ({sql}) q)" for rank, sql in parts)
        selects = []
        for rank, _sql in parts:
            # read b{rank} only when b0 .. b{rank-1} hold fewer than `want` rows; AND stops
            # at the first filled prefix, and a CTE nobody scans is never run
            guards = [
                " + ".join(f"(SELECT COUNT(*) FROM b{i})" for i in range(prefix)) + f" < {want}"
                for prefix in range(1, rank + 1)
            ]
            where = f" WHERE {' AND '.join(guards)}" if guards else ""
            selects.append(f"SELECT {rank} AS r, b{rank}.* FROM b{rank}{where}")
        # the CTEs' columns: (pk, name) as their SELECT named them
        sql = (
            f"WITH {ctes} SELECT u.* FROM ({' UNION ALL '.join(selects)}) u "
            f"ORDER BY 1, 3, 2 LIMIT {high - low} OFFSET {low}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[1] for row in cursor.fetchall()]

    def _ids_by_targets_in_use(self, page_rows: QuerySet) -> list[int] | None:
        """The page's ids in order_maturity's order within one segment, counting the targets
        in use once for the segment (a grouped count over the in-use statuses of its target
        products, joined to its customers) instead of a subquery per customer of the
        segment that the sort ran for every one of them (issue 15: the sort grew with the
        segment). One query. None for any other order (and when the slice is open-ended)."""
        order = tuple(self.order_by or ())
        low, high = page_rows.query.low_mark, page_rows.query.high_mark
        if self.one_segment is None or order not in (("maturity",), ("-maturity",)) or high is None:
            return None
        customers_sql, customers_params = self.data.data.order_by().values_list("pk", "name").query.sql_with_params()
        in_use = (
            CustomerProduct.objects.filter(
                status=CustomerProduct.Status.IN_USE,
                # the ten-odd targets probed on the (product, status) index, not every status
                product_id__in_array=PortraitEntry.objects.filter(segment=self.one_segment).values("product_id"),
            )
            .values("customer_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        in_use_sql, in_use_params = in_use.query.sql_with_params()
        direction = "DESC" if order[0].startswith("-") else "ASC"
        # the customers' subquery names its columns (pk, name); the counts' (customer_id, n)
        sql = (
            f"SELECT c.pk FROM ({customers_sql}) c LEFT JOIN ({in_use_sql}) u ON u.customer_id = c.pk "
            f"ORDER BY COALESCE(u.n, 0) {direction}, c.name, c.pk LIMIT {high - low} OFFSET {low}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*customers_params, *in_use_params])
            return [row[0] for row in cursor.fetchall()]

    def order_maturity(self, queryset, is_descending):
        """Within one segment every customer has the same number of targets, so maturity
        orders as the count of targets in use, ties by name and id (the page reads its
        ids with _ids_by_targets_in_use, exports through this order). Several segments:
        maturity itself."""
        if self.one_segment is None:
            return queryset, False
        in_use = F("in_use_count")
        return queryset.order_by(in_use.desc() if is_descending else in_use.asc(), "name", "pk"), True

    def order_segment(self, queryset, is_descending):
        # Segments in priority order, the non-target rest last.
        priority = (
            F("segment__priority").desc(nulls_last=True)
            if is_descending
            else F("segment__priority").asc(nulls_last=True)
        )
        return queryset.order_by(priority, "segment__name", "name"), True

    def render_maturity(self, record):
        if record.maturity is None:
            return "—"
        return f"{record.in_use_count}/{record.target_count} ({record.maturity:.0%})"

    def value_maturity(self, record):
        return None if record.maturity is None else round(record.maturity, 4)

    def _shown_records(self) -> list:
        """The page's customers (every row when exporting), read from the data: iterating
        the rows would make new BoundRows, and each takes a number from the table's row
        counter, which decides the rows' even/odd classes."""
        return list(self.page.object_list.data if hasattr(self, "page") else self.data)

    def _shown_ids(self) -> list[int]:
        return [record.pk for record in self._shown_records()]

    def offers_for(self, customer) -> list:
        """What to offer next (portrait.offer_next_for) for the shown rows, two queries
        the first time a cell asks (the rows carry their segments)."""
        if self._offers is None:
            segments = {record.pk: record.segment_id for record in self._shown_records()}
            self._offers = offer_next_for(list(segments), segments=segments)
        return self._offers.get(customer.pk, [])

    def render_offer_next(self, record):
        offers = self.offers_for(record)
        if not offers:
            return "—"
        # Small wrapping text, not badges: the product columns stay in view.
        return format_html('<span class="small offer-next">{}</span>', " · ".join(p.name for p in offers))

    def value_offer_next(self, record):
        return ", ".join(p.name for p in self.offers_for(record))

    def statuses_for(self, customer) -> dict:
        """Statuses ((code, date) by product id) of the shown rows, loaded in one query the
        first time a cell asks: the page's rows when paginated, every row when exporting."""
        if self._statuses is None:
            ids = self._shown_ids()
            self._statuses = {}
            rows = CustomerProduct.objects.filter(customer_id__in=ids, product_id__in=self.product_ids).values_list(
                "customer_id", "product_id", "status", "status_date"
            )
            for customer_id, product_id, code, status_date in rows:
                self._statuses.setdefault(customer_id, {})[product_id] = (code, status_date)
        return self._statuses.get(customer.pk, {})

    def status_html(self, status) -> str:
        """ProductStatusColumn.render's badge for a (code, date) status, its escaped start
        worked out once per status code."""
        code, status_date = status
        start = self._status_starts.get(code)
        if start is None:
            label = conditional_escape(status_label(code))
            start = self._status_starts[code] = (
                f'<span class="badge product-status status-{conditional_escape(code)}" title="{label}">{label}'
            )
        if status_date:
            return mark_safe(f"{start} {status_date:%d.%m.%y}</span>")  # noqa: S308 - escaped above, digits
        return mark_safe(f"{start}</span>")  # noqa: S308 - escaped above
