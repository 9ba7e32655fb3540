import django_tables2 as tables
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

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
        fields = (
            "id",
            "customer",
            "product",
            "kind",
            "severity",
            "step",
            "step_deadline",
            "owner",
            "registered_at",
            "is_overdue",
            "channel",
            "cause_category",
        )
        order_by = ("-registered_at",)
        row_attrs = {"class": lambda record: "table-danger complaint-overdue" if record.is_overdue else ""}

    def render_product(self, value):
        return value.name

    def render_registered_at(self, value):
        return date_format(localtime(value), "SHORT_DATE_FORMAT")

    def value_registered_at(self, value):
        return localtime(value).date()

    def render_step_deadline(self, value, record):
        shown = date_format(value, "SHORT_DATE_FORMAT")
        if record.is_overdue:
            return format_html(
                '<span class="text-danger fw-semibold">{}</span> <span class="badge text-bg-danger">{}</span>',
                shown,
                _("overdue"),
            )
        return shown

    def value_step_deadline(self, value):
        return value

    def value_is_overdue(self, value):
        return "yes" if value else ""


class SurveyTable(tables.Table):
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    product = tables.Column(order_by=("product__name",))
    created_at = tables.DateTimeColumn(format="j M Y")
    sent_at = tables.DateTimeColumn(format="j M Y")
    answered_at = tables.DateTimeColumn(format="j M Y")
    expires = tables.DateTimeColumn(format="j M Y", visible=False)
    fill = tables.TemplateColumn(
        template_name="complaints/_survey_fill_cell.html",
        verbose_name="",
        orderable=False,
    )

    class Meta:
        model = Survey
        fields = ("customer", "product", "reason", "channel", "created_at", "sent_at", "answered_at", "fill", "expires")
        order_by = ("-created_at",)
        exclude_from_export = ("fill",)
