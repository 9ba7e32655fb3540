from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    Competitor,
    Contact,
    Customer,
    CustomerCompetitor,
    CustomerProduct,
    PortraitEntry,
    Product,
    ProductLine,
    SalesTeam,
    Segment,
    SegmentRule,
    TeamMembership,
)
from .segment_rules import rule_check, segment_counts_text, segments_assign
from .services.profiles import customers_reassigned
from .sessions import sessions_end


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "manager" in form.changed_data:
            # the open planned contacts and deals follow the new manager, as on every path
            customers_reassigned(customer_ids=[obj.pk], actor=request.user)


#
# Catalogue, segments and the portrait
#


@admin.register(ProductLine)
class ProductLineAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "line", "standard_cost", "is_active"]
    list_filter = ["line", "is_active"]
    search_fields = ["sku", "name"]


class SegmentRuleForm(forms.ModelForm):
    class Meta:
        model = SegmentRule
        fields = ["field", "operator", "value"]

    def clean(self):
        cleaned = super().clean()
        field, operator = cleaned.get("field"), cleaned.get("operator")
        if field and operator and "value" in cleaned:
            # field, operator and value must make a rule that can be applied: a broken
            # one would otherwise only show up when customers are saved or reassigned.
            try:
                rule_check(field, operator, cleaned["value"])
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    self.add_error(name, messages)
        return cleaned


class SegmentRuleInline(admin.TabularInline):
    model = SegmentRule
    form = SegmentRuleForm
    extra = 1


class PortraitEntryInline(admin.TabularInline):
    model = PortraitEntry
    extra = 1
    verbose_name = verbose_name_plural = _("target products")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "is_active"]
    list_editable = ["priority", "is_active"]
    inlines = [SegmentRuleInline, PortraitEntryInline]
    actions = ["reassign_all"]

    @admin.action(description=_("Reassign every customer to its segment"))
    def reassign_all(self, request, queryset):
        counts = segments_assign()
        self.message_user(request, segment_counts_text(counts, separator=": "))

    def save_related(self, request, form, formsets, change):
        # After the rules (inlines) are saved: a change of rules, priority or activity
        # moves customers between segments, so every customer is reassigned at once, in
        # bulk, and the result is recorded in the admin log of the segment.
        super().save_related(request, form, formsets, change)
        if form.has_changed() or any(formset.has_changed() for formset in formsets):
            self._reassign(request, form.instance)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._reassign(request, None)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        self._reassign(request, None)

    def _reassign(self, request, segment):
        counts = segments_assign()
        summary = _("Segments reassigned: %(counts)s") % {"counts": segment_counts_text(counts)}
        if segment is not None and segment.pk is not None:
            self.log_change(request, segment, summary)
        self.message_user(request, summary)


@admin.register(CustomerProduct)
class CustomerProductAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "product", "status", "status_date"]
    list_filter = ["status", "product"]
    list_select_related = ["customer", "product"]
    autocomplete_fields = ["customer", "product"]


#
# Contacts and competitors
#


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "position", "phone", "email", "birthday", "is_primary"]


class CustomerCompetitorInline(admin.TabularInline):
    model = CustomerCompetitor
    extra = 0
    autocomplete_fields = ["competitor", "product"]


# Set here, after the inline classes exist; a select of every customer would not load.
CustomerAdmin.inlines = [*CustomerAdmin.inlines, ContactInline, CustomerCompetitorInline]
CustomerAdmin.autocomplete_fields = [*CustomerAdmin.autocomplete_fields, "referred_by"]


@admin.register(Competitor)
class CompetitorAdmin(admin.ModelAdmin):
    list_display = ["name", "strengths", "weaknesses", "customer_count"]
    search_fields = ["name", "strengths", "weaknesses"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customer_links__customer", distinct=True))

    @admin.display(description=_("customers"), ordering="customer_count")
    def customer_count(self, obj):
        return obj.customer_count


@admin.register(CustomerCompetitor)
class CustomerCompetitorAdmin(admin.ModelAdmin):
    list_display = ["customer", "competitor", "product", "notes"]
    list_filter = ["competitor"]
    search_fields = ["customer__name", "competitor__name", "notes"]
    list_select_related = ["customer", "competitor", "product"]
    autocomplete_fields = ["customer", "competitor", "product"]


#
# Agenda: interactions, planned contacts (with their history), holidays, greetings
#

from .models import Greeting, Holiday, Interaction, PlannedContact  # noqa: E402 - appended with the agenda


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "customer", "kind", "outcome", "manager"]
    list_filter = ["kind", "outcome"]
    search_fields = ["customer__name", "summary"]
    list_select_related = ["customer", "manager"]
    autocomplete_fields = ["customer", "manager"]
    raw_id_fields = ["contact"]
    date_hierarchy = "occurred_at"


@admin.register(PlannedContact)
class PlannedContactAdmin(SimpleHistoryAdmin):
    list_display = ["due_date", "customer", "purpose", "manager", "status", "handed_over_from"]
    list_filter = ["status", "manager"]
    search_fields = ["customer__name", "purpose"]
    list_select_related = ["customer", "manager", "handed_over_from"]
    autocomplete_fields = ["customer", "manager", "product", "handed_over_from"]
    raw_id_fields = ["planned_in", "done_in"]
    date_hierarchy = "due_date"


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["name", "date", "yearly"]
    list_filter = ["yearly"]
    search_fields = ["name"]


@admin.register(Greeting)
class GreetingAdmin(admin.ModelAdmin):
    list_display = ["occasion_date", "occasion", "customer", "contact", "greeted_by", "greeted_at"]
    list_filter = ["occasion"]
    search_fields = ["customer__name", "contact__name", "occasion"]
    list_select_related = ["customer", "contact", "greeted_by"]
    autocomplete_fields = ["customer", "greeted_by"]
    raw_id_fields = ["contact"]


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class CrmUserAdmin(UserAdmin):
    """Django's user admin, plus ending a user's sessions on every device (a lost laptop,
    a leaver). Unticking "active" and saving ends them too (customers.sessions)."""

    actions = ["end_sessions"]

    @admin.action(description=_("End all sessions (log out on every device)"), permissions=["change"])
    def end_sessions(self, request, queryset):
        count = sessions_end(user_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(count)d session(s) ended.") % {"count": count}, messages.SUCCESS)
