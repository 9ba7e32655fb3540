from django.contrib import admin

from crm_project.admin import ReadOnlyAdminMixin

from .models import HealthThreshold, KpiPeriod, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("manager", "month", "revenue", "primary", "new_direction", "updated_by", "updated_at")
    list_filter = ("month",)
    search_fields = ("manager__username",)


@admin.register(HealthThreshold)
class HealthThresholdAdmin(admin.ModelAdmin):
    list_display = ("key", "good", "fair")


@admin.register(KpiPeriod)
class KpiPeriodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Computed periods, for looking only: the fill job writes them."""

    list_display = ("start", "end", "computed_at", "customers", "seconds")
    deletable = True
