import django_tables2 as tables
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from crm_project.object_urls import object_url
from crm_project.tables import LeanDateTimeColumn, day_format

from .models import Complaint, Survey


class ComplaintTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    product = tables.Column(order_by=("product__name",))
    registered_at = tables.Column(verbose_name=_("Registered"))
    owner = tables.Column(order_by=("owner__username",))
    step_deadline = tables.Column(verbose_name=_("Deadline"))
    # In the export only: on the page the red row and the deadline's badge say it.
    is_overdue = tables.BooleanColumn(verbose_name=_("Overdue"), visible=False)
    channel = tables.Column(visible=False)
    cause_category = tables.Column(visible=False)

    class Meta:
        model = Complaint
        fields = ("id", "customer", "product", "kind", "severity", "step", "step_deadline", "owner", "registered_at",
                  "is_overdue", "channel", "cause_category")
        order_by = ("-registered_at",)
        row_attrs = {"class": lambda record: "table-danger complaint-overdue" if record.is_overdue else ""}

    def render_product(self, value):
        return value.name

    def render_registered_at(self, value):
        return day_format(localtime(value).date(), "SHORT_DATE_FORMAT")

    def value_registered_at(self, value):
        return localtime(value).date()

    def render_step_deadline(self, value, record):
        shown = day_format(value, "SHORT_DATE_FORMAT")
        if record.is_overdue:
            return format_html(
                '<span class="text-danger fw-semibold">{}</span> <span class="badge text-bg-danger">{}</span>',
                shown, _("overdue"),
            )
        return shown

    def value_step_deadline(self, value):
        return value

    def value_is_overdue(self, value):
        return "yes" if value else ""


class SurveyTable(tables.Table):
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    product = tables.Column(order_by=("product__name",))
    # Formatted in Python, not by a template per cell (crm_project.tables, issue 15).
    created_at = LeanDateTimeColumn(format="j M Y")
    sent_at = LeanDateTimeColumn(format="j M Y")
    answered_at = LeanDateTimeColumn(format="j M Y")
    expires = LeanDateTimeColumn(format="j M Y", visible=False)
    fill = tables.Column(verbose_name="", orderable=False, empty_values=())

    class Meta:
        model = Survey
        fields = ("customer", "product", "reason", "channel", "created_at", "sent_at", "answered_at", "fill",
                  "expires")
        order_by = ("-created_at",)
        exclude_from_export = ("fill",)

    def render_fill(self, record):
        """The "Fill in" button of an unanswered survey, for who may record answers."""
        if record.answered_at or not self._may_fill():
            return ""
        return format_html(
            '<a class="btn btn-outline-primary btn-sm py-0" href="{}">{}</a>',
            object_url("complaints:survey_fill", record.pk),  # 25 rows: no reverse() each
            _("Fill in"),
        )

    def _may_fill(self) -> bool:
        """The user's permission, asked once per table (not once per row)."""
        if not hasattr(self, "_fill_allowed"):
            self._fill_allowed = self.request.user.has_perm("complaints.add_response")
        return self._fill_allowed
