from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Customer, SalesTeam, TeamMembership


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
