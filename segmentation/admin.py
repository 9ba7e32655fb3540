from django.contrib import admin

from crm_project.admin import ReadOnlyAdminMixin

from .models import ClassificationSettings, CustomerSnapshot, RecomputeRun


@admin.register(ClassificationSettings)
class ClassificationSettingsAdmin(admin.ModelAdmin):
    """One row of parameters; the next recompute uses them."""

    def has_add_permission(self, request):
        return not ClassificationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["as_of", "status", "step", "customers", "lines", "class_changes", "started_at", "finished_at"]
    list_filter = ["status"]
    deletable = True


@admin.register(CustomerSnapshot)
class CustomerSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["customer", "as_of", "status", "abc", "xyz", "value", "rfm_segment"]
    list_filter = ["as_of", "status", "abc", "xyz", "rfm_segment"]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__external_ref"]
    show_full_result_count = False
    deletable = True
