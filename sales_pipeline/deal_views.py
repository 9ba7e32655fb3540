"""The deal pages: the board, the list, the deal page with its actions, the control
points and the funnel. Included by sales_pipeline/urls.py.

Every deal comes through Deal.objects.visible_to(request.user), so another manager's
deal is a 404 on every URL, the board's htmx endpoints included. Actions are small
POST views that load the deal, call one function of sales_pipeline.pipeline (or
.documents) and redirect with a message; the board's move answers htmx with fragments.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime, time
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django.views.generic import DetailView

from crm_project import hooks
from crm_project.exports import CONTENT_TYPES, export_response
from crm_project.views import ScopedListView
from customers.access import MANAGER, user_role
from customers.models import Customer
from segmentation.classification import months_before

from . import control_points as points
from . import documents, pipeline
from .deal_filters import DealFilterSet
from .deal_forms import (
    BoardFilterForm,
    CloseForm,
    ContractChangeForm,
    DealCreateForm,
    DealForm,
    DealLineFormSet,
    FunnelForm,
    GenerateForm,
    LoseForm,
    MoveForm,
    PaymentForm,
    SentForm,
    StageDataForm,
    UploadForm,
    line_rows,
)
from .deal_tables import DealTable
from .funnel import funnel_report
from .models import Deal, DealDocument, DocumentTemplate, Stage

VIEW, ADD, CHANGE = "sales_pipeline.view_deal", "sales_pipeline.add_deal", "sales_pipeline.change_deal"
PAY, DOCUMENT = "sales_pipeline.add_payment", "sales_pipeline.add_dealdocument"
BOARD_CARDS = 20  # newest cards per column; the column links to the full filtered list
OPEN = Deal.Status.OPEN


def _visible(request):
    return Deal.objects.visible_to(request.user)


def _deal(request, pk) -> Deal:
    """The deal `pk` if the user may see it, else 404."""
    return get_object_or_404(_visible(request).select_related("customer", "manager", "lost_reason"), pk=pk)


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _put_errors(form, error: ValidationError) -> None:
    """A service's ValidationError onto the form: field errors where the form has the field."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


#
# Board
#


def _card_alerts(deal: Deal, today) -> list[str]:
    alerts = []
    if deal.stage == Stage.OFFER and deal.offer_expires and deal.offer_expires < today:
        alerts.append("offer expired")
    if (
        deal.stage == Stage.PAYMENT
        and deal.invoice_expires
        and deal.invoice_expires < today
        and deal.paid < deal.amount
    ):
        alerts.append("invoice expired")
    if deal.stage == Stage.DELIVERY and deal.event_date and deal.event_date < today:
        alerts.append("event passed")
    return alerts


def _cards(deals):
    today = timezone.localdate()
    cards = list(pipeline.with_paid(deals).select_related("customer", "manager"))
    for card in cards:
        card.alerts = _card_alerts(card, today)
        card.days = pipeline.days_in_current_stage(card, today)
    return cards


def _board_deals(request, params):
    form = BoardFilterForm(params, user=request.user)
    deals = _visible(request).filter(status=OPEN)
    if form.is_valid():
        if form.cleaned_data["manager"] is not None:
            deals = deals.filter(manager=form.cleaned_data["manager"])
        if form.cleaned_data["sale_type"]:
            deals = deals.filter(sale_type=form.cleaned_data["sale_type"])
    return form, deals


def _column_heads(deals, form) -> list[dict]:
    """Count and money of every column, in one aggregate query."""
    totals = {
        row["stage"]: row for row in deals.order_by().values("stage").annotate(n=Count("pk"), total=Sum("amount"))
    }
    query = {k: v for k, v in (form.data.items() if form.is_bound else []) if k in ("manager", "sale_type") and v}
    heads = []
    for stage in Stage:
        row = totals.get(stage.value, {})
        params = "&".join(f"{k}={v}" for k, v in query.items())
        heads.append(
            {
                "stage": stage.value,
                "label": stage.label,
                "count": row.get("n", 0),
                "total": row.get("total") or 0,
                "list_url": f"{reverse('sales_pipeline:deal_list')}?status=open&stage={stage.value}"
                + (f"&{params}" if params else ""),
            }
        )
    return heads


@login_required
@permission_required(VIEW, raise_exception=True)
def deal_board(request):
    """GET: the open deals as six columns, each with its count and money and its newest
    BOARD_CARDS cards. Seven queries (one aggregate, one per column) whatever the size."""
    form, deals = _board_deals(request, request.GET or None)
    heads = _column_heads(deals, form)
    for head in heads:
        head["cards"] = _cards(deals.filter(stage=head["stage"]).order_by("-pk")[:BOARD_CARDS])
    return render(
        request, "sales_pipeline/deal_board.html", {"columns": heads, "form": form, "board_cards": BOARD_CARDS}
    )


def _board_move_response(request, deal: Deal, error: str):
    form, deals = _board_deals(request, request.POST)
    card = _cards(deals.filter(pk=deal.pk))
    if error or not card:
        # Failed (the card stays with the reason), or moved out of the board's filter.
        card = card or _cards(_visible(request).filter(pk=deal.pk))
        return render(request, "sales_pipeline/_deal_card.html", {"deal": card[0], "error": error})
    heads = {head["stage"]: head for head in _column_heads(deals, form)}
    context = {"deal": card[0], "heads": heads.values(), "board_cards": BOARD_CARDS}
    return render(request, "sales_pipeline/_deal_moved.html", context)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_move(request, pk):
    """POST to_stage: move the deal (pipeline.deal_move). From the board (htmx,
    from=board): the card moves to its new column and both column heads are redrawn, or
    the card comes back with what is missing. Otherwise a redirect with a message."""
    deal = _deal(request, pk)
    form = MoveForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Pick the stage to move to."
    else:
        try:
            deal = pipeline.deal_move(deal=deal, to_stage=form.cleaned_data["to_stage"], actor=request.user)
        except ValidationError as exc:
            error = _errors(exc)
    if request.htmx and request.POST.get("from") == "board":
        return _board_move_response(request, deal, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Moved to {deal.get_stage_display()}.")
    return redirect(deal)


#
# List
#


class DealListView(ScopedListView):
    model = Deal
    permission_required = VIEW
    queryset = pipeline.with_paid(Deal.objects.select_related("customer", "manager"))
    filterset_class = DealFilterSet
    table_class = DealTable
    template_name = "sales_pipeline/deal_list.html"
    export_name = "deals"


#
# Creating and editing
#


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
            deal = pipeline.deal_create(
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
            _put_errors(form, error)
        else:
            messages.success(request, f"Deal “{deal.title}” opened at {deal.get_stage_display()}.")
            return redirect(deal)
    return render(request, "sales_pipeline/deal_form.html", {"form": form, "lines": lines, "deal": None})


@login_required
@permission_required(CHANGE, raise_exception=True)
def deal_update(request, pk):
    """The deal's general fields, the data of every stage reached and its product lines."""
    deal = _deal(request, pk)
    form = DealForm(request.POST or None, instance=deal, user=request.user)
    lines = DealLineFormSet(request.POST or None, instance=deal, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.fields}
        try:
            deal = pipeline.deal_edit(
                deal=deal,
                changes=changes,
                lines=line_rows(lines) if lines.has_changed() else None,
                actor=request.user,
            )
        except ValidationError as error:
            _put_errors(form, error)
        else:
            messages.success(request, "Deal saved.")
            return redirect(deal)
    return render(request, "sales_pipeline/deal_form.html", {"form": form, "lines": lines, "deal": deal})


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_stage_save(request, pk):
    """POST the current stage's data from the deal page's stage panel."""
    deal = _deal(request, pk)
    form = StageDataForm(request.POST, deal=deal)
    if deal.status != OPEN:
        messages.error(request, "A closed deal's stage data is edited on the edit page.")
    elif not form.is_valid():
        messages.error(request, "; ".join(f"{form.fields[n].label}: {' '.join(e)}" for n, e in form.errors.items()))
    else:
        try:
            pipeline.deal_update(deal=deal, changes=form.changes(), actor=request.user)
        except ValidationError as error:
            messages.error(request, _errors(error))
        else:
            messages.success(request, f"{deal.get_stage_display()} data saved.")
    return redirect(deal)


#
# The deal page
#


class DealDetailView(LoginRequiredMixin, PermissionRequiredMixin, DetailView):
    """The deal with its stage panel, money, lines, documents and timeline. A fixed
    number of queries whatever hangs off the deal."""

    permission_required = VIEW
    template_name = "sales_pipeline/deal_detail.html"

    def get_queryset(self):
        return _visible(self.request).select_related("customer", "manager", "lost_reason")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deal = self.object
        today = timezone.localdate()
        lines = list(deal.lines.select_related("product", "product__line").order_by("pk"))
        for line in lines:
            line.net = pipeline.line_net(line)
        payments = list(deal.payments.select_related("recorded_by"))
        docs = list(deal.documents.select_related("uploaded_by"))
        changes = list(deal.stage_changes.select_related("changed_by"))
        contract_changes = list(deal.contract_changes.all())
        money = pipeline.Money(amount=deal.amount, paid=sum((p.amount for p in payments), pipeline.ZERO))
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
            days_in_stage=pipeline.days_in_current_stage(deal, today),
            missing=pipeline.missing_to_leave(deal, today=today) if is_open else [],
            previous_stages=[s for s in Stage if s.value < deal.stage] if is_open else [],
            next_stage=Stage(deal.stage + 1) if is_open and deal.stage < Stage.CLOSING else None,
            stage_form=StageDataForm(deal=deal) if is_open else None,
            close_form=CloseForm(initial={"closing_grade": deal.closing_grade}),
            payment_form=PaymentForm() if deal.stage >= Stage.PAYMENT else None,
            contract_form=ContractChangeForm(initial={"date": today}) if deal.contract_signed else None,
            generate_kinds=DocumentTemplate.Kind.choices,
            upload_form=UploadForm(),
            sent_form=SentForm(initial={"sent_date": today}),
            timeline=_timeline(deal, changes, payments, docs, contract_changes),
        )
        return context


def _timeline(deal, changes, payments, docs, contract_changes) -> list[dict]:
    """Stage moves, payments, documents and contract changes, newest first."""
    events = []
    for change in changes:
        if change.from_stage is None:
            text = f"Opened at {change.get_to_stage_display()}"
        elif change.to_status != OPEN:
            text = f"{change.get_to_status_display()} at {change.get_to_stage_display()}"
        else:
            direction = "back" if change.to_stage < change.from_stage else "on"
            text = f"Moved {direction} from {change.get_from_stage_display()} to {change.get_to_stage_display()}"
        if change.from_stage is not None:
            text += f" after {change.days_in_stage} day{'s' if change.days_in_stage != 1 else ''}"
        events.append({"when": change.changed_at, "kind": "stage", "text": text, "who": change.changed_by})
    for payment in payments:
        what = "Refund" if payment.amount < 0 else "Payment"
        note = f" ({payment.note})" if payment.note else ""
        events.append(
            {
                "when": _day_start(payment.date, payment.created_at),
                "kind": "payment",
                "text": f"{what} of {abs(payment.amount):.2f}{note}",
                "who": payment.recorded_by,
            }
        )
    for document in docs:
        sent = f", sent {document.sent_date:%d %b %Y}" if document.sent_date else ""
        events.append(
            {
                "when": document.created_at,
                "kind": "document",
                "text": f"{document.title}{sent}",
                "who": document.uploaded_by,
            }
        )
    for change in contract_changes:
        events.append(
            {
                "when": _day_start(change.date, None),
                "kind": "contract",
                "text": f"Contract changed: {change.note}",
                "who": None,
            }
        )
    if deal.status == Deal.Status.LOST and deal.lost_reason_id:
        events.append(
            {
                "when": deal.closed_at,
                "kind": "lost",
                "text": f"Reason: {deal.lost_reason} — {deal.lost_comment}",
                "who": None,
            }
        )
    return sorted(events, key=lambda event: event["when"], reverse=True)


def _day_start(day, fallback):
    """A payment or contract change has a day: sort it at its recording time if that
    was the same day, else at noon of the day."""
    moment = timezone.make_aware(datetime.combine(day, time(12)))
    return fallback if fallback and timezone.localdate(fallback) == day else moment


#
# Losing and closing
#


@login_required
@permission_required(CHANGE, raise_exception=True)
def deal_lose(request, pk):
    """GET: the form (reason of the current stage, comment, and for a presentation the
    retry date, proposed in three months). POST: lose the deal."""
    deal = _deal(request, pk)
    if deal.status != OPEN:
        messages.error(request, f"The deal is {deal.get_status_display().lower()} already.")
        return redirect(deal)
    form = LoseForm(request.POST or None, deal=deal)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pipeline.deal_lose(
                deal=deal,
                reason=data["reason"],
                comment=data["comment"],
                retry_date=data.get("retry_date"),
                actor=request.user,
            )
        except ValidationError as error:
            _put_errors(form, error)
        else:
            messages.success(request, f"Deal lost at {deal.get_stage_display()}: {data['reason']}.")
            return redirect(deal)
    return render(request, "sales_pipeline/deal_lose.html", {"deal": deal, "form": form})


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_close(request, pk):
    """POST: close the deal as won (pipeline.deal_close), with the customer's grade."""
    deal = _deal(request, pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The grade is a number from 1 to 5.")
        return redirect(deal)
    try:
        deal = pipeline.deal_close(deal=deal, grade=form.cleaned_data["closing_grade"], actor=request.user)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(
            request,
            f"Deal won. Next contact planned on {deal.next_contact:%d %b %Y}; survey on {deal.survey_date:%d %b %Y}.",
        )
    return redirect(deal)


#
# Money and the contract
#


@login_required
@permission_required(PAY, raise_exception=True)
@require_POST
def deal_payment(request, pk):
    """POST a payment or a refund; it writes the ledger (pipeline.payment_record)."""
    deal = _deal(request, pk)
    form = PaymentForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "; ".join(f"{form.fields[n].label or n}: {' '.join(e)}" for n, e in form.errors.items())
        )
        return redirect(deal)
    try:
        payment = pipeline.payment_record(
            deal=deal,
            date=form.cleaned_data["date"],
            amount=form.signed_amount(),
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        money = pipeline.deal_money(deal)
        what = "Refund" if payment.amount < 0 else "Payment"
        messages.success(
            request, f"{what} of {abs(payment.amount):.2f} recorded: paid {money.paid:.2f}, due {money.due:.2f}."
        )
    return redirect(deal)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_contract_change(request, pk):
    deal = _deal(request, pk)
    form = ContractChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the date and what changed in the contract.")
        return redirect(deal)
    try:
        pipeline.contract_change_add(
            deal=deal, date=form.cleaned_data["date"], note=form.cleaned_data["note"], actor=request.user
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, "Contract change recorded.")
    return redirect(deal)


#
# Documents
#


def _document(request, pk) -> DealDocument:
    documents_ = DealDocument.objects.filter(deal__in=_visible(request).values("pk")).select_related("deal")
    return get_object_or_404(documents_, pk=pk)


def _print_page(request, *, deal, title, html, document=None):
    return render(
        request,
        "sales_pipeline/deal_document_print.html",
        # Rendered by documents.render_template_text: autoescaped, from the sandbox.
        {"deal": deal, "title": title, "html": mark_safe(html), "document": document},  # noqa: S308
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def deal_document_preview(request, pk):
    """GET ?kind=offer|contract|invoice|act: the document as it would be generated now,
    printable, not kept."""
    deal = _deal(request, pk)
    kind = request.GET.get("kind", DocumentTemplate.Kind.OFFER)
    if kind not in DocumentTemplate.Kind.values:
        kind = DocumentTemplate.Kind.OFFER
    try:
        title, html = documents.document_render(deal=deal, kind=kind)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect(deal)
    return _print_page(request, deal=deal, title=title, html=html)


@login_required
@permission_required(DOCUMENT, raise_exception=True)
@require_POST
def deal_document_generate(request, pk):
    """POST kind: generate the document from its template and keep it with the deal."""
    deal = _deal(request, pk)
    form = GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the document to generate.")
        return redirect(deal)
    try:
        document = documents.document_generate(deal=deal, kind=form.cleaned_data["kind"], actor=request.user)
    except ValidationError as error:
        messages.error(request, _errors(error))
        return redirect(deal)
    messages.success(request, f"{document.title} generated: print it or save it as PDF.")
    return redirect("sales_pipeline:deal_document", pk=document.pk)


@login_required
@permission_required(DOCUMENT, raise_exception=True)
@require_POST
def deal_document_upload(request, pk):
    """POST a file (checked by documents.check_upload) to attach to the deal."""
    deal = _deal(request, pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(errors) for errors in form.errors.values()))
        return redirect(deal)
    data = form.cleaned_data
    try:
        documents.document_upload(
            deal=deal,
            upload=data["file"],
            kind=data["kind"],
            title=data["title"],
            sent_date=data["sent_date"],
            actor=request.user,
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, "File attached.")
    return redirect(deal)


@login_required
@permission_required(VIEW, raise_exception=True)
def deal_document(request, pk):
    """GET: a generated document as a printable page; an uploaded file as a download."""
    document = _document(request, pk)
    if not document.file:
        messages.info(request, f"{document.title} has no file attached.")
        return redirect(document.deal)
    if documents.is_generated(document):
        with document.file.open("rb") as stored:
            html = stored.read().decode("utf-8")
        return _print_page(request, deal=document.deal, title=document.title, html=html, document=document)
    name = Path(document.file.name).name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # Always a download, never shown inline: an upload cannot run as a page of this site.
    return FileResponse(document.file.open("rb"), as_attachment=True, filename=name, content_type=content_type)


@login_required
@permission_required(DOCUMENT, raise_exception=True)
@require_POST
def deal_document_sent(request, pk):
    """POST sent_date: the day the document went to the customer."""
    document = _document(request, pk)
    form = SentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the date the document was sent.")
        return redirect(document.deal)
    try:
        documents.document_mark_sent(document=document, sent_date=form.cleaned_data["sent_date"], actor=request.user)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, f"{document.title}: sent on {form.cleaned_data['sent_date']:%d %b %Y}.")
    return redirect(document.deal)


#
# Control points and the funnel
#


@login_required
@permission_required(VIEW, raise_exception=True)
def control_points(request):
    """GET [?manager=<id>]: every overdue control date of the deals the user sees, per manager."""
    form = BoardFilterForm(request.GET or None, user=request.user)
    manager = form.cleaned_data["manager"] if form.is_valid() else None
    today = timezone.localdate()
    found = points.control_points(user=request.user, today=today, manager=manager)
    # Control points the apps below contribute (e.g. segmentation's contact interval per ABC class).
    more = [
        row
        for hook in hooks.get_hooks(hooks.CONTROL_POINTS)
        for row in hook(user=request.user, today=today, manager=manager)
    ]
    more_counts: dict[str, int] = {}
    for row in more:
        more_counts[row.kind] = more_counts.get(row.kind, 0) + 1
    context = {
        "form": form,
        "today": today,
        "groups": points.by_manager(found),
        "counts": points.counts_by_kind(found),
        "total": len(found),
        "limit": points.LIMIT,
        "hook_rows": more,
        "hook_counts": sorted(more_counts.items()),
    }
    return render(request, "sales_pipeline/control_points.html", context)


def _default_period(today):
    return {"start": months_before(today, 3), "end": today}


@login_required
@permission_required(VIEW, raise_exception=True)
def funnel(request):
    """GET start, end [, manager, team, product_line, sale_type] [, _export=csv|xlsx]:
    the funnel report (sales_pipeline.funnel) as a table and a chart."""
    today = timezone.localdate()
    params = request.GET.copy()
    for name, value in _default_period(today).items():
        params.setdefault(name, value.isoformat())
    form = FunnelForm(params, user=request.user)
    report = None
    if form.is_valid():
        data = form.cleaned_data
        report = funnel_report(
            user=request.user,
            start=data["start"],
            end=data["end"],
            manager=data["manager"],
            team=data["team"],
            product_line=data["product_line"],
            sale_type=data["sale_type"],
        )
        fmt = request.GET.get("_export")
        if fmt in CONTENT_TYPES:
            return _funnel_export(fmt, report)
    return render(
        request, "sales_pipeline/funnel.html", {"form": form, "report": report, "export_formats": list(CONTENT_TYPES)}
    )


def _funnel_export(fmt, report):
    header = ["Stage", "Reached", "Amount", "Converted to next", "Conversion %", "Average days", "Lost"]
    rows = [
        [row.label, row.reached, row.amount, row.converted, row.conversion, row.avg_days, row.lost]
        for row in report.stages
    ]
    rows.append(["Won", report.won, report.won_amount, None, None, None, None])
    rows.append([])
    rows.append(["Refusals: stage", "Reason", "Deals", "Amount"])
    rows += [[r.stage_label, r.reason, r.count, r.amount] for r in report.refusals]
    return export_response(fmt, f"funnel-{report.start}-{report.end}", header, rows)


urlpatterns = [
    path("deals/", deal_board, name="deal_board"),
    path("deals/list/", DealListView.as_view(), name="deal_list"),
    path("deals/new/", deal_create, name="deal_create"),
    path("deals/control-points/", control_points, name="control_points"),
    path("deals/funnel/", funnel, name="funnel"),
    path("deals/<int:pk>/", DealDetailView.as_view(), name="deal_detail"),
    path("deals/<int:pk>/edit/", deal_update, name="deal_update"),
    path("deals/<int:pk>/stage-data/", deal_stage_save, name="deal_stage_save"),
    path("deals/<int:pk>/move/", deal_move, name="deal_move"),
    path("deals/<int:pk>/lose/", deal_lose, name="deal_lose"),
    path("deals/<int:pk>/close/", deal_close, name="deal_close"),
    path("deals/<int:pk>/payments/", deal_payment, name="deal_payment"),
    path("deals/<int:pk>/contract-changes/", deal_contract_change, name="deal_contract_change"),
    path("deals/<int:pk>/documents/preview/", deal_document_preview, name="deal_document_preview"),
    path("deals/<int:pk>/documents/generate/", deal_document_generate, name="deal_document_generate"),
    path("deals/<int:pk>/documents/upload/", deal_document_upload, name="deal_document_upload"),
    path("deals/documents/<int:pk>/", deal_document, name="deal_document"),
    path("deals/documents/<int:pk>/sent/", deal_document_sent, name="deal_document_sent"),
]
