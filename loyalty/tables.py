import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Campaign, Card


class CardTable(tables.Table):
    number = tables.Column(linkify=True, verbose_name=_("Number"))
    holder = tables.Column(order_by=("holder__name",), default="—", verbose_name=_("Holder"))
    external_ref = tables.Column(accessor="holder__external_ref", verbose_name=_("Customer ref"), default="")
    program = tables.Column(order_by=("program__name",), verbose_name=_("Program"))
    tier = tables.Column(order_by=("tier__rank",), default="—", verbose_name=_("Tier"))
    balance = tables.Column(verbose_name=_("Points"), attrs={"td": {"class": "text-end"}})

    class Meta:
        model = Card
        fields = ("number", "holder", "external_ref", "program", "tier", "status", "balance", "issued_on", "expires_on")
        order_by = ("number",)

    def render_holder(self, record, value):
        from django.utils.html import format_html

        return format_html('<a href="{}">{}</a>', record.holder.get_absolute_url(), value)

    def value_holder(self, record, value):
        return value


NUMBER = {"th": {"class": "text-end"}, "td": {"class": "text-end"}}


class CampaignTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name=_("Name"))
    status = tables.Column(verbose_name=_("Status"))
    step_count = tables.Column(verbose_name=_("Steps"), attrs={"td": {"class": "text-end"}})
    member_count = tables.Column(verbose_name=_("Customers"), attrs={"td": {"class": "text-end"}}, orderable=True)
    started_on = tables.DateColumn(verbose_name=_("Started on"), default="—")
    finished_on = tables.DateColumn(verbose_name=_("Ended on"), default="—")
    created_at = tables.DateColumn(verbose_name=_("Created"))

    class Meta:
        model = Campaign
        fields = ("name", "status", "step_count", "member_count", "started_on", "finished_on", "created_at")
        order_by = ("-created_at",)
