"""The ledger's pages: the settlement lines, and the imports with their progress."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import redirect
from django.utils.translation import get_language
from django.views.generic import DetailView, FormView
from django_tables2 import SingleTableView

from crm_project.queue import TRY_AGAIN, QueueUnavailable, enqueue
from crm_project.views import ScopedListView
from customers.access import sees_everything

from ..filters import SettlementLineFilterSet
from ..forms import SettlementImportForm
from ..models import SettlementImport, SettlementLine
from ..services import imports as services
from ..tables import SettlementImportTable, SettlementLineTable
from ..tasks import import_settlements_task

#
# The ledger
#


LINE_LIST_FIELDS = ("date", "customer__name", "product__sku", "quantity", "amount", "cost", "manager__username",
                    "document")  # fmt: skip


class SettlementLineListView(ScopedListView):
    model = SettlementLine
    # Lines belong to customers: whoever may see a customer may see its lines.
    permission_required = "customers.view_customer"
    # the table's columns only: the customer's other columns were most of what was loaded
    queryset = SettlementLine.objects.select_related("customer", "product", "manager").only(*LINE_LIST_FIELDS)
    filterset_class = SettlementLineFilterSet
    table_class = SettlementLineTable
    template_name = "sales_pipeline/settlementline_list.html"
    export_name = "settlements"


#
# Imports
#


class SettlementImportMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Runs are seen by whoever started them and by users who see everything; anyone
    else's run is simply not in the queryset (404)."""

    model = SettlementImport
    permission_required = "sales_pipeline.add_settlementimport"

    def get_queryset(self):
        services.abandoned_imports_close()
        runs = SettlementImport.objects.select_related("created_by")
        return runs if sees_everything(self.request.user) else runs.filter(created_by=self.request.user)


class SettlementImportListView(SettlementImportMixin, SingleTableView):
    table_class = SettlementImportTable
    template_name = "sales_pipeline/settlementimport_list.html"
    table_pagination = {"per_page": 25}


class SettlementImportCreateView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    permission_required = "sales_pipeline.add_settlementimport"
    form_class = SettlementImportForm
    template_name = "sales_pipeline/settlementimport_form.html"

    def form_valid(self, form):
        try:
            run = services.settlement_import_start(
                upload=form.cleaned_data["file"],
                user=self.request.user,
                create_missing=form.cleaned_data["create_missing"],
                dry_run=form.cleaned_data["dry_run"],
                enqueue=lambda pk: enqueue(import_settlements_task, pk, language=get_language()),
            )
        except QueueUnavailable:
            form.add_error(None, TRY_AGAIN)
            return self.form_invalid(form)
        return redirect("sales_pipeline:settlement_import_detail", pk=run.pk)


class SettlementImportDetailView(SettlementImportMixin, DetailView):
    template_name = "sales_pipeline/settlementimport_detail.html"
    context_object_name = "run"

    def get_object(self, queryset=None):
        return services.settlement_import_live(super().get_object(queryset))


class SettlementImportProgressView(SettlementImportDetailView):
    """The htmx fragment the run page polls every second until the run has finished."""

    template_name = "sales_pipeline/_settlementimport_progress.html"
