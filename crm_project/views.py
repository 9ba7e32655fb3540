"""The list-page recipe every app uses: a FilterSet, a Table and this view.

`ScopedListView` takes its rows from the model's `visible_to(user)`, filters, sorts and
paginates them, and with `?_export=csv|xlsx` downloads exactly the filtered, sorted
rows the user may see, every cell escaped by crm_project.exports.
"""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from .exports import CONTENT_TYPES, export_response
from .pagination import CappedPaginator


class ScopedListView(LoginRequiredMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    template_name = "generic/object_list.html"
    export_name = "export"
    paginate_by = None
    table_pagination = {"per_page": settings.LIST_PAGE_SIZE, "paginator_class": CappedPaginator}

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("_export")
        if fmt not in CONTENT_TYPES:
            return super().get(request, *args, **kwargs)
        self.filterset = self.get_filterset(self.get_filterset_class())
        queryset = self.filterset.qs if self.filterset.is_valid() else self.filterset.queryset.none()
        table = self.get_table_class()(queryset, request=request, **self.get_table_kwargs())
        table.order_by = request.GET.get(table.prefixed_order_by_field)
        # Sliced after the table has applied the user's sort order.
        table.data.data = table.data.data[: settings.EXPORT_MAX_ROWS]
        exclude = getattr(table.Meta, "exclude_from_export", ())
        values = table.as_values(exclude_columns=exclude)
        header = next(values)
        return export_response(fmt, self.export_name, header, values)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["export_formats"] = list(CONTENT_TYPES)
        return context
