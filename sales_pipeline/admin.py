from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from crm_project.admin import ReadOnlyAdminMixin, ReadOnlyInline

from .models import (
    Deal,
    DealLine,
    DocumentTemplate,
    Payment,
    RefusalReason,
    SettlementImport,
    SettlementLine,
    StageChange,
)
from .services import ledger


@admin.register(SettlementLine)
class SettlementLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger is written by payments and imports: admin reads it, and may delete a
    wrong line, but never adds or edits one."""

    list_display = ["date", "customer", "product", "quantity", "amount", "cost", "manager", "document"]
    list_select_related = ["customer", "product", "manager"]
    list_filter = ["date"]
    # Exact matches use the indexes; a million-line ledger has no time for LIKE '%…%'.
    search_fields = ["=document", "=customer__external_ref"]
    date_hierarchy = "date"
    show_full_result_count = False
    deletable = True

    # Through the ledger's service, so that the figures kept of those dates go stale.
    def delete_model(self, request, obj):
        ledger.lines_delete(SettlementLine.objects.filter(pk=obj.pk), user=request.user, reason="admin")

    def delete_queryset(self, request, queryset):
        ledger.lines_delete(queryset, user=request.user, reason="admin")


@admin.register(SettlementImport)
class SettlementImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "file_name", "status", "dry_run", "created_by", "created_at", "rows_total",
        "lines_created", "lines_skipped", "customers_created", "products_created",
    ]  # fmt: skip
    list_filter = ["status", "dry_run"]
    list_select_related = ["created_by"]
    search_fields = ["file_name"]


#
# The pipeline: deals change through the deal pages (sales_pipeline.services.deals), which
# apply the stage rules and write the ledger; admin edits reference data and looks.
#


class DealLineInline(ReadOnlyInline):
    model = DealLine
    fields = ["product", "quantity", "price", "discount"]


class PaymentInline(ReadOnlyInline):
    """Read-only: a payment must write its settlement lines (services.deals.payment_record)."""

    model = Payment
    fields = ["date", "amount", "note", "recorded_by", "created_at"]


@admin.register(Deal)
class DealAdmin(SimpleHistoryAdmin):
    """Stage, status, amount and the loss are set by the pipeline's rules only."""

    list_display = ["title", "customer", "manager", "stage", "status", "amount", "sale_type", "created_at"]
    list_filter = ["status", "stage", "sale_type"]
    list_select_related = ["customer", "manager"]
    search_fields = ["title", "=customer__external_ref"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    readonly_fields = [
        "stage", "stage_entered_at", "status", "amount", "lost_reason", "lost_comment", "closed_at", "created_at",
    ]  # fmt: skip
    inlines = [DealLineInline, PaymentInline]

    def has_add_permission(self, request):
        return False  # a deal is opened on the deal pages, which record its start


@admin.register(RefusalReason)
class RefusalReasonAdmin(admin.ModelAdmin):
    list_display = ["text", "stage", "is_active"]
    list_filter = ["stage", "is_active"]
    list_editable = ["is_active"]
    search_fields = ["text"]


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    """Rendered in a sandbox (sales_pipeline.documents): autoescaped, without {% load %},
    {% include %} or |safe; context: deal, customer, lines, manager, money, today."""

    list_display = ["kind", "title"]


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["deal", "from_stage", "to_stage", "to_status", "changed_at", "changed_by", "days_in_stage"]
    list_filter = ["to_stage", "to_status"]
    list_select_related = ["deal", "changed_by"]
    date_hierarchy = "changed_at"
    show_full_result_count = False
