from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm_project.admin import ReadOnlyAdminMixin, ReadOnlyInline

from . import services
from .models import (
    CauseCategory,
    Complaint,
    ComplaintAttachment,
    ComplaintTransition,
    NonWorkingDay,
    Question,
    Questionnaire,
    Response,
    SlaRule,
    Survey,
    SurveySettings,
)


@admin.register(CauseCategory)
class CauseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]


@admin.register(SlaRule)
class SlaRuleAdmin(admin.ModelAdmin):
    list_display = ["severity", "step", "working_days"]
    list_filter = ["severity"]


@admin.register(NonWorkingDay)
class NonWorkingDayAdmin(admin.ModelAdmin):
    list_display = ["date", "name"]
    date_hierarchy = "date"


@admin.register(SurveySettings)
class SurveySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "min_interval_days", "yearly_days", "link_valid_days"]

    def has_add_permission(self, request):
        return not SurveySettings.objects.exists()


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 1
    fields = ["order", "text", "is_active"]


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    list_display = ["name", "product", "product_line", "is_active"]
    list_filter = ["is_active"]
    autocomplete_fields = []
    inlines = [QuestionInline]


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by the services only (audit and answers): administrators look, not edit."""

    deletable = True


class TransitionInline(ReadOnlyInline):
    model = ComplaintTransition
    fields = ["from_step", "to_step", "by", "at", "text", "deadline", "late", "is_reopen"]


class AttachmentInline(ReadOnlyInline):
    model = ComplaintAttachment
    fields = ["file", "title", "uploaded_by", "created_at"]


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "kind", "severity", "step", "owner", "step_deadline"]
    list_filter = ["kind", "severity", "step", "channel"]
    search_fields = ["customer__name", "description"]
    inlines = [TransitionInline, AttachmentInline]


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    """The e-mails' delivery state, attempts and last error next to each survey (written by
    complaints.services only)."""

    list_display = ["customer", "product", "reason", "channel", "created_at", "delivery", "attempts",
                    "next_attempt_at", "sent_at", "delivery_error", "answered_at"]
    list_filter = ["channel", "reason", "delivery"]
    list_select_related = ["customer", "product"]
    exclude = ["token_hash"]
    actions = ["send_again"]

    @admin.action(permissions=["resend"], description=_(
        "Send the e-mail again (failed, or stuck \"sending\": it may have reached the customer already)"))
    def send_again(self, request, queryset):
        queued = services.surveys_send_again(queryset)
        skipped = queryset.count() - queued
        self.message_user(request, ngettext(
            "%(count)d survey e-mail will be sent again within 15 minutes, with a new link.",
            "%(count)d survey e-mails will be sent again within 15 minutes, each with a new link.",
            queued) % {"count": queued}, messages.SUCCESS if queued else messages.WARNING)
        if skipped:
            self.message_user(request, ngettext(
                "%(count)d survey left alone: not e-mailed, answered, or neither failed nor stuck sending.",
                "%(count)d surveys left alone: not e-mailed, answered, or neither failed nor stuck sending.",
                skipped) % {"count": skipped}, messages.WARNING)

    def has_resend_permission(self, request):
        # The admin is read-only; sending again is the one change it offers, to whoever
        # may change surveys.
        return request.user.has_perm("complaints.change_survey")


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["customer", "product", "manager", "answered_at"]
