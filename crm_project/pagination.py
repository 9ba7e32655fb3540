"""A paginator that counts no further than a person reads (issue 15).

A list's "N found" and its page links need the number of rows; over 4 million settlement
lines or 50,000 customers an exact COUNT costs more than the rest of the page. Nobody
reads past a few hundred pages, so the count stops at `cap` rows ("more than 10,000
found"); a page past the cap (typed into the URL, or the last-page link) gets the exact
count then, so every row stays reachable.
"""

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


def _queryset(object_list):
    """The queryset under django-tables2's BoundRows (or the queryset itself)."""
    data = getattr(getattr(object_list, "data", None), "data", object_list)
    return data if isinstance(data, QuerySet) else None


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *args, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.cap = cap or settings.LIST_COUNT_CAP
        self.capped = False

    @cached_property
    def count(self):
        queryset = _queryset(self.object_list)
        if queryset is None:
            return super().count
        # Counted over the primary keys only, unordered: no sort, no annotation computed.
        counted = queryset.order_by().values("pk")[: self.cap + 1].count()
        self.capped = counted > self.cap
        return counted

    def exact(self) -> None:
        queryset = _queryset(self.object_list)
        self.__dict__["count"] = queryset.order_by().values("pk").count()
        self.__dict__.pop("num_pages", None)
        self.__dict__.pop("page_range", None)
        self.capped = False

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except EmptyPage:
            if not self.capped:
                raise
            self.exact()
            return super().validate_number(number)
