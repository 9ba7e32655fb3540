"""A paginator that counts no further than a person reads (issue 15).

A list's "N found" and its page links need the number of rows; over 4 million settlement
lines or 50,000 customers an exact COUNT costs more than the rest of the page. Nobody
reads past a few hundred pages, so the count stops at `cap` rows ("more than 1,000
found"), and for a deeper page (the last-page link, a page typed into the URL) at the
next multiple of `cap` past that page ("more than 6,000 found" on page 200): every row
stays reachable, and the number shown is always a true lower bound.

A deep page (past DEFERRED_FROM rows) reads its rows in two steps: the page's primary
keys in the list's order, then those rows with their joins and annotations. Asked at
once, PostgreSQL sorted every visible row with all its columns (the 200,000 deals of a
director's list spilled the sort to disk) and computed the annotations of every row
skipped by the OFFSET. So does any page of a long list (past the count's cap) sorted by
a column that leads no index (`walks_an_index`): the customers by e-mail, the deals by
their customer's name.
"""

from functools import cache

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db.models import Index, QuerySet, UniqueConstraint
from django.utils.functional import cached_property

DEFERRED_FROM = 500  # rows skipped; the first pages walk an index in order instead


def is_deep_page(request) -> bool:
    """Whether the list page asked for skips DEFERRED_FROM rows or more (the page's keys
    are then read first, see CappedPaginator.page)."""
    try:
        page = int(request.GET.get("page") or 1)
        per_page = int(request.GET.get("per_page") or settings.LIST_PAGE_SIZE)
    except ValueError:
        return False
    return (page - 1) * per_page >= DEFERRED_FROM


def walks_an_index(queryset) -> bool:
    """Whether the queryset's first sort key is a column of its own table that leads one of
    the table's B-tree indexes, so that a first page is read in order from the index and
    the reading stops after it. Otherwise (a column without an index, a joined table's
    column, an annotation) PostgreSQL sorts every row of the list before the LIMIT, with
    all the joined columns: a long list's page keys are then read first
    (CappedPaginator._read_at_once)."""
    ordering = queryset.query.order_by or queryset.model._meta.ordering
    if not ordering:
        return True
    first = ordering[0]
    if not isinstance(first, str):
        return False
    try:
        field = queryset.model._meta.get_field(first.lstrip("-"))
    except FieldDoesNotExist:
        return first.lstrip("-") == "pk"
    if field.is_relation and field.related_model._meta.ordering:
        return False  # sorted by the related model's ordering, through the join
    return getattr(field, "column", None) in _leading_columns(queryset.model)


@cache
def _leading_columns(model) -> frozenset[str]:
    """The columns that lead one of the model's B-tree indexes (declared indexes and
    unique constraints on fields, indexed, unique and foreign-key fields, the key)."""
    meta = model._meta
    # plain B-tree indexes over fields, on every row (a partial index serves only queries
    # that repeat its condition; GIN and GiST keep no order)
    names = [
        index.fields[0].lstrip("-")
        for index in meta.indexes
        if type(index) is Index and index.fields and not index.condition
    ]
    names += [
        constraint.fields[0]
        for constraint in meta.constraints
        if isinstance(constraint, UniqueConstraint) and constraint.fields and not constraint.condition
    ]
    names += [fields[0] for fields in meta.unique_together]
    columns = {meta.get_field(name).column for name in names}
    for field in meta.concrete_fields:
        if field.primary_key or field.unique or field.db_index:  # a foreign key's db_index is on by default
            columns.add(field.column)
    return frozenset(columns)


def _queryset(object_list):
    """The queryset under django-tables2's BoundRows (or the queryset itself)."""
    data = getattr(getattr(object_list, "data", None), "data", object_list)
    return data if isinstance(data, QuerySet) else None


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *args, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.step = cap or settings.LIST_COUNT_CAP
        self.cap = self.step
        self.capped = False
        self._number = 1

    @cached_property
    def count(self):
        queryset = _queryset(self.object_list)
        if queryset is None:
            return super().count
        # Counted to the next multiple of the cap past the page asked for, so that the
        # page and the one after it exist: the first pages count `cap` rows, page 200
        # of 25 rows (with a cap of 1,000) 6,000, never every row of a big list.
        self.cap = (self._top() // self.step + 1) * self.step
        # Counted over the primary keys only, unordered: no sort, no annotation computed.
        counted = queryset.order_by().values("pk")[: self.cap + 1].count()
        self.capped = counted > self.cap
        return counted

    def _top(self) -> int:
        try:
            number = max(int(self._number), 1)
        except (TypeError, ValueError):
            number = 1
        return number * self.per_page

    def _read_at_once(self, queryset) -> bool:
        """Whether a first page is read in one query: when the list is short (its count
        under the cap: sorting all its rows costs less than a second query), when its sort
        walks an index, or when its table reads the page's keys itself (reads_page_keys:
        customers.managed_base). Otherwise its keys are read first."""
        own_keys = getattr(getattr(self.object_list, "table", None), "reads_page_keys", False)
        return own_keys or not self.capped or walks_an_index(queryset)

    def page(self, number):
        self._number = number
        queryset = _queryset(self.object_list)
        deferred = (
            queryset is not None
            and not queryset.query.distinct
            and not queryset.query.combinator
            and hasattr(self.object_list, "table")
        )
        counted = None
        if deferred and "count" not in self.__dict__ and self._top() - self.per_page >= DEFERRED_FROM:
            # A deep page's count and keys from one read: the keys in the list's order up to
            # the count's cap, counted here (the same rows the count reads: the first cap + 1).
            # Counted apart, the database walked those rows twice, and built the user's
            # scope (a hashed list of their customers) twice (issue 15: a manager's deal list
            # page 200, 14 -> 7 ms by EXPLAIN ANALYZE).
            self.cap = (self._top() // self.step + 1) * self.step
            counted = list(queryset.values_list("pk", flat=True)[: self.cap + 1])
            self.capped = len(counted) > self.cap
            self.__dict__["count"] = len(counted)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        if not deferred or (bottom < DEFERRED_FROM and self._read_at_once(queryset)):
            return super().page(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        if counted is not None:
            keys = counted[bottom:top]
        else:
            keys = list(queryset.values_list("pk", flat=True)[bottom:top])
        found = {row.pk: row for row in queryset.filter(pk__in=keys).order_by()}
        records = [found[key] for key in keys if key in found]
        bound = self.object_list  # django-tables2's BoundRows over the table's data
        rows = type(bound)(data=records, table=bound.table, pinned_data=bound.pinned_data)
        return self._get_page(rows, number, self)
