"""What is done to a deal from its page: lose, close, record a payment or a contract change.
Each calls one service of sales_pipeline.services.deals."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import deal_rules
from ..deal_forms import CloseForm, ContractChangeForm, LoseForm, PaymentForm
from ..models import Deal
from ..services import deals as deal_services
from .common import CHANGE, OPEN, PAY, deal_or_404, post_action, put_errors


@login_required
@permission_required(CHANGE, raise_exception=True)
def deal_lose(request, pk):
    """GET: the form (reason of the current stage, comment, and for a presentation the
    retry date, proposed in three months). POST: lose the deal."""
    deal = deal_or_404(request, pk)
    if deal.status != OPEN:
        won = deal.status == Deal.Status.WON
        messages.error(request, _("The deal is won already.") if won else _("The deal is lost already."))
        return redirect(deal)
    form = LoseForm(request.POST or None, deal=deal)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal_services.deal_lose(
                deal=deal,
                reason=data["reason"],
                comment=data["comment"],
                retry_date=data.get("retry_date"),
                actor=request.user,
            )
        except ValidationError as error:
            put_errors(form, error)
        else:
            messages.success(
                request,
                _("Deal lost at %(stage)s: %(reason)s.")
                % {"stage": deal.get_stage_display(), "reason": data["reason"]},
            )
            return redirect(deal)
    return render(request, "sales_pipeline/deal_lose.html", {"deal": deal, "form": form})


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_close(request, pk):
    """POST: close the deal as won (deal_services.deal_close), with the customer's grade."""
    deal = deal_or_404(request, pk)
    return post_action(
        request,
        CloseForm(request.POST),
        run=lambda data: deal_services.deal_close(deal=deal, grade=data["closing_grade"], actor=request.user),
        success=lambda won: (
            _("Deal won. Next contact planned on %(next)s; survey on %(survey)s.")
            % {"next": date_format(won.next_contact, "d M Y"), "survey": date_format(won.survey_date, "d M Y")}
        ),
        invalid=lambda form: _("The grade is a number from 1 to 5."),
        back=deal,
    )


@login_required
@permission_required(PAY, raise_exception=True)
@require_POST
def deal_payment(request, pk):
    """POST a payment or a refund; it writes the ledger (deal_services.payment_record)."""
    deal = deal_or_404(request, pk)
    form = PaymentForm(request.POST)

    def recorded(payment) -> str:
        money = deal_rules.deal_money(deal)
        values = {
            "amount": number_format(abs(payment.amount), 2),
            "paid": number_format(money.paid, 2),
            "due": number_format(money.due, 2),
        }
        if payment.amount < 0:
            return _("Refund of %(amount)s recorded: paid %(paid)s, due %(due)s.") % values
        return _("Payment of %(amount)s recorded: paid %(paid)s, due %(due)s.") % values

    return post_action(
        request,
        form,
        run=lambda data: deal_services.payment_record(
            deal=deal, date=data["date"], amount=form.signed_amount(), note=data["note"], actor=request.user
        ),
        success=recorded,
        back=deal,
    )


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_contract_change(request, pk):
    deal = deal_or_404(request, pk)
    return post_action(
        request,
        ContractChangeForm(request.POST),
        run=lambda data: deal_services.contract_change_add(
            deal=deal, date=data["date"], note=data["note"], actor=request.user
        ),
        success=lambda change: _("Contract change recorded."),
        invalid=lambda form: _("Give the date and what changed in the contract."),
        back=deal,
    )
