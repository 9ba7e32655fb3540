from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm_project.admin import ReadOnlyAdminMixin, ReadOnlyInline

from .campaigns import messages_send_again
from .models import (
    Campaign,
    CampaignMessage,
    CampaignStep,
    Card,
    LineEarnRate,
    MeasureFill,
    OptOut,
    PointsEntry,
    Program,
    ScaleBracket,
    Tier,
    TierChange,
)


class TierInline(admin.TabularInline):
    model = Tier
    extra = 0


class BracketInline(admin.TabularInline):
    model = ScaleBracket
    extra = 0


class LineRateInline(admin.TabularInline):
    model = LineEarnRate
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_active", "discount_percent", "earn_rate", "point_value", "expiry_days")
    list_filter = ("kind", "is_active")
    inlines = [TierInline, BracketInline, LineRateInline]
    fieldsets = [
        (None, {"fields": ("name", "kind", "is_active", "number_prefix", "discount_percent")}),
        (_("Tiers"), {"fields": ("tier_window_months", "tier_grace_days")}),
        (_("Bonus points"), {"fields": ("earn_rate", "point_value", "expiry_days")}),
        (
            _("VIP service"),
            {"fields": ("vip_conditions", "vip_personal_manager", "vip_priority_support", "vip_free_delivery")},
        ),
        (_("Gifts by class"), {"fields": ("gift_a", "gift_b", "gift_c")}),
    ]


class EntryInline(ReadOnlyInline):
    # The ledger is written by services only (under the card's lock): read-only here.
    model = PointsEntry
    fields = ("date", "kind", "points", "remaining", "expires_on", "line", "reason", "created_by")


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ("number", "program", "holder", "tier", "status", "balance", "issued_on", "expires_on")
    list_filter = ("program", "status")
    search_fields = ("number", "holder__name", "holder__external_ref")
    raw_id_fields = ("holder",)
    readonly_fields = ("number", "balance", "tier")
    inlines = [EntryInline]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Tiers change only by rule (services.tiers_evaluate, the floor on the card's page):
    # the history is read here, never added or edited.
    list_display = ("card", "old_tier", "new_tier", "reason", "date", "announced_on")
    list_filter = ("date",)


@admin.register(MeasureFill)
class MeasureFillAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The measures' stored dates, for looking only: loyalty.measure_store writes them. A
    deleted date is computed live until the next fill stores it again."""

    list_display = ("as_of", "period_months", "window_months", "filled_at", "stale_since")
    deletable = True


class StepInline(admin.StackedInline):
    model = CampaignStep
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "started_on", "finished_on")
    inlines = [StepInline]


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ("customer", "at")
    raw_id_fields = ("customer",)


@admin.register(CampaignMessage)
class CampaignMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The messages as sent, failed or waiting to retry, with their attempts (written by
    loyalty.campaigns only)."""

    list_display = ["pk", "step", "member", "status", "attempts", "next_attempt_at", "sent_at", "error"]
    list_filter = ["status", "step__campaign"]
    list_select_related = ["step", "member__customer"]
    actions = ["send_again"]

    @admin.action(permissions=["resend"], description=_(
        "Send again (failed, or stuck \"sending\": it may have reached the customer already)"))
    def send_again(self, request, queryset):
        queued = messages_send_again(queryset)
        skipped = queryset.count() - queued
        self.message_user(request, ngettext(
            "%(count)d message will be sent again on the campaign's next run.",
            "%(count)d messages will be sent again on the campaign's next run.",
            queued) % {"count": queued}, messages.SUCCESS if queued else messages.WARNING)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d message left alone: sent or waiting already, its campaign no longer running, "
                "or its customer out of the campaign.",
                "%(count)d messages left alone: sent or waiting already, their campaign no longer running, "
                "or their customer out of the campaign.",
                skipped) % {"count": skipped}, messages.WARNING)

    def has_resend_permission(self, request):
        # The admin is read-only; sending again is the one change it offers.
        return request.user.has_perm("loyalty.change_campaignmessage")
