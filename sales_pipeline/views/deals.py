"""The deal list, the deal page, and creating and editing a deal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.generic import DetailView

from crm_project.dates import business_today
from crm_project.pagination import is_deep_page
from crm_project.probes import has_rows
from crm_project.views import ScopedListView
from customers.access import MANAGER, user_role
from customers.models import Customer

from .. import deal_rules
from ..deal_filters import DealFilterSet
from ..deal_forms import (
    CloseForm,
    ContractChangeForm,
    DealCreateForm,
    DealForm,
    DealLineFormSet,
    PaymentForm,
    SentForm,
    StageDataForm,
    UploadForm,
    line_rows,
)
from ..deal_tables import DealTable
from ..deal_timeline import deal_timeline
from ..models import ContractChange, Deal, DealDocument, DocumentTemplate, Payment, Stage
from ..services import deals as deal_services
from .common import ADD, CHANGE, OPEN, VIEW, deal_or_404, post_action, put_errors, visible_deals

DEAL_LIST_FIELDS = ("title", "customer__name", "stage", "status", "amount", "manager__username", "sale_type",
                    "source", "expected_close", "created_at")  # fmt: skip


class DealListView(ScopedListView):
    model = Deal
    permission_required = VIEW
    filterset_class = DealFilterSet
    table_class = DealTable
    template_name = "sales_pipeline/deal_list.html"
    export_name = "deals"

    def get_queryset(self):
        # the table's columns only: compiling and loading the deal's and its customer's
        # other 60 columns was a tenth of the page
        deals = (
            Deal.objects.with_paid()
            .select_related("customer", "manager")
            .only(*DEAL_LIST_FIELDS)
        )
        if is_deep_page(self.request):
            return deals.visible_to_by_customer_keys(self.request.user)
        return deals.visible_to(self.request.user)


@login_required
@permission_required(ADD, raise_exception=True)
def deal_create(request):
    """A new deal for a customer of the user's scope (?customer=<id> preselects it), with
    its product lines; it starts at Presentation."""
    initial = {}
    preset = request.GET.get("customer", "")
    if preset.isdigit():
        customer = Customer.objects.visible_to(request.user).filter(pk=preset).first()
        if customer is not None:
            initial = {"customer": customer.pk, "title": f"{customer.name}: "}
    form = DealCreateForm(request.POST or None, initial=initial, user=request.user)
    lines = DealLineFormSet(request.POST or None, instance=Deal(), prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        customer = data["customer"]
        if "manager" not in form.fields or user_role(request.user) == MANAGER:
            manager = request.user
        else:
            manager = data.get("manager") or customer.manager or request.user
        try:
            deal = deal_services.deal_create(
                customer=customer,
                manager=manager,
                title=data["title"],
                sale_type=data["sale_type"],
                source=data["source"],
                expected_close=data["expected_close"],
                lines=line_rows(lines),
                actor=request.user,
            )
        except ValidationError as error:
            put_errors(form, error)
        else:
            messages.success(
                request,
                _("Deal “%(title)s” opened at %(stage)s.") % {"title": deal.title, "stage": deal.get_stage_display()},
            )
            return redirect(deal)
    return render(request, "sales_pipeline/deal_form.html", {"form": form, "lines": lines, "deal": None})


@login_required
@permission_required(CHANGE, raise_exception=True)
def deal_update(request, pk):
    """The deal's general fields, the data of every stage reached and its product lines."""
    deal = deal_or_404(request, pk)
    form = DealForm(request.POST or None, instance=deal, user=request.user)
    lines = DealLineFormSet(request.POST or None, instance=deal, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.fields}
        try:
            deal = deal_services.deal_edit(
                deal=deal,
                changes=changes,
                lines=line_rows(lines) if lines.has_changed() else None,
                actor=request.user,
            )
        except ValidationError as error:
            put_errors(form, error)
        else:
            messages.success(request, _("Deal saved."))
            return redirect(deal)
    return render(request, "sales_pipeline/deal_form.html", {"form": form, "lines": lines, "deal": deal})


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_stage_save(request, pk):
    """POST the current stage's data from the deal page's stage panel."""
    deal = deal_or_404(request, pk)
    if deal.status != OPEN:
        messages.error(request, _("A closed deal's stage data is edited on the edit page."))
        return redirect(deal)
    form = StageDataForm(request.POST, deal=deal)
    return post_action(
        request,
        form,
        run=lambda _data: deal_services.deal_update(deal=deal, changes=form.changes(), actor=request.user),
        success=lambda result: _("%(stage)s data saved.") % {"stage": deal.get_stage_display()},
        back=deal,
    )


class DealDetailView(LoginRequiredMixin, PermissionRequiredMixin, DetailView):
    """The deal with its stage panel, money, lines, documents and timeline. A fixed
    number of queries whatever hangs off the deal."""

    permission_required = VIEW
    template_name = "sales_pipeline/deal_detail.html"

    def get_queryset(self):
        # whether the deal has payments, documents, contract changes: probed with its row, so
        # that the many deals without them spend no query on them (crm_project.probes; not the
        # lines and stage moves, which every deal has)
        return (
            visible_deals(self.request)
            .select_related("customer", "manager", "lost_reason")
            .annotate(
                has_payments=has_rows(Payment, "deal"),
                has_documents=has_rows(DealDocument, "deal"),
                has_contract_changes=has_rows(ContractChange, "deal"),
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deal = self.object
        today = business_today()
        lines = list(deal.lines.select_related("product", "product__line").order_by("pk"))
        for line in lines:
            line.net = deal_rules.line_net(line)
        payments = list(deal.payments.select_related("recorded_by")) if deal.has_payments else []
        docs = list(deal.documents.select_related("uploaded_by")) if deal.has_documents else []
        changes = list(deal.stage_changes.select_related("changed_by"))
        contract_changes = list(deal.contract_changes.all()) if deal.has_contract_changes else []
        money = deal_rules.Money(amount=deal.amount, paid=sum((p.amount for p in payments), deal_rules.ZERO))
        is_open = deal.status == OPEN
        context.update(
            today=today,
            lines=lines,
            money=money,
            payments=payments,
            documents=docs,
            contract_changes=contract_changes,
            is_open=is_open,
            progress=[
                {"stage": s.value, "label": s.label, "done": s.value < deal.stage, "current": s.value == deal.stage}
                for s in Stage
            ],
            days_in_stage=deal_rules.days_in_current_stage(deal, today),
            missing=deal_rules.missing_to_leave(deal, today=today, lines=lines, money=money) if is_open else [],
            previous_stages=[s for s in Stage if s.value < deal.stage] if is_open else [],
            next_stage=Stage(deal.stage + 1) if is_open and deal.stage < Stage.CLOSING else None,
            stage_form=StageDataForm(deal=deal) if is_open else None,
            close_form=CloseForm(initial={"closing_grade": deal.closing_grade}),
            payment_form=PaymentForm() if deal.stage >= Stage.PAYMENT else None,
            contract_form=ContractChangeForm(initial={"date": today}) if deal.contract_signed else None,
            generate_kinds=DocumentTemplate.Kind.choices,
            upload_form=UploadForm(),
            sent_form=SentForm(initial={"sent_date": today}),
            timeline=deal_timeline(deal, changes, payments, docs, contract_changes),
        )
        return context
