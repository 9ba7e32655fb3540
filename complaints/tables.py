import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Complaint, Survey


class ComplaintTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    product = tables.Column(order_by=("product__name",))
    owner = tables.Column(order_by=("owner__username",))
    step_deadline = tables.Column(verbose_name=_("Deadline"))
    is_overdue = tables.BooleanColumn(verbose_name=_("Overdue"), yesno=(_("overdue"), ""))

    class Meta:
        model = Complaint
        fields = ("id", "customer", "product", "kind", "severity", "channel", "step", "owner", "step_deadline",
                  "is_overdue", "cause_category", "registered_at", "reopen_count")
        order_by = ("-registered_at",)
        row_attrs = {"class": lambda record: "table-danger complaint-overdue" if record.is_overdue else ""}

    def render_step_deadline(self, value, record):
        if record.is_overdue:
            return format_html('<span class="text-danger fw-semibold">{}</span>', value)
        return value

    def value_step_deadline(self, value):
        return value

    def value_is_overdue(self, value):
        return "yes" if value else ""


class SurveyTable(tables.Table):
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    product = tables.Column(order_by=("product__name",))
    fill = tables.TemplateColumn(
        template_name="complaints/_survey_fill_cell.html", verbose_name="", orderable=False,
    )

    class Meta:
        model = Survey
        fields = ("customer", "product", "reason", "channel", "created_at", "sent_at", "expires", "answered_at",
                  "fill")
        order_by = ("-created_at",)
        exclude_from_export = ("fill",)
