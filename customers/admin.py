from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Customer,
    CustomerProduct,
    PortraitEntry,
    Product,
    ProductLine,
    SalesTeam,
    Segment,
    SegmentRule,
    TeamMembership,
)
from .segment_rules import segments_assign


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(SalesTeam)
class SalesTeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["directors"]
    inlines = [TeamMembershipInline]


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "external_ref", "manager", "industry", "city", "created_at"]
    list_filter = ["kind", "manager"]
    search_fields = ["name", "external_ref", "email", "phone"]
    list_select_related = ["manager"]
    autocomplete_fields = ["manager"]


#
# Catalogue, segments and the portrait
#


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "line", "is_active"]
    list_filter = ["line", "is_active"]
    search_fields = ["sku", "name"]


class SegmentRuleInline(admin.TabularInline):
    model = SegmentRule
    extra = 1


class PortraitEntryInline(admin.TabularInline):
    model = PortraitEntry
    extra = 1
    verbose_name = verbose_name_plural = "target products"


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "is_active"]
    list_editable = ["priority", "is_active"]
    inlines = [SegmentRuleInline, PortraitEntryInline]
    actions = ["reassign_all"]

    @admin.action(description="Reassign every customer to its segment")
    def reassign_all(self, request, queryset):
        counts = segments_assign()
        self.message_user(request, ", ".join(f"{name}: {n}" for name, n in counts.items()))


@admin.register(CustomerProduct)
class CustomerProductAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "product", "status", "status_date"]
    list_filter = ["status", "product"]
    list_select_related = ["customer", "product"]
    autocomplete_fields = ["customer", "product"]
