"""Pages of the complaints app. Thin: forms in, services do the work, selectors read."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Q, Value, When
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from crm_project import charts
from crm_project.dates import business_today, months_before
from crm_project.exports import CONTENT_TYPES, export_response
from crm_project.views import ScopedListView

from . import selectors, services
from . import statistics as stats
from .filters import ComplaintFilterSet, SurveyFilterSet
from .forms import AdvanceForm, AnswersForm, AttachmentForm, ComplaintForm, ReopenForm, SurveyStartForm
from .models import Complaint, ComplaintAttachment, Step, Survey
from .workflow import next_step

VIEW, ADD, CHANGE = "complaints.view_complaint", "complaints.add_complaint", "complaints.change_complaint"


def with_overdue(queryset, today):
    overdue = Q(step_deadline__lt=today) & ~Q(step=Step.CLOSED)
    return queryset.annotate(is_overdue=Case(When(overdue, then=Value(True)), default=Value(False),
                                             output_field=BooleanField()))


COMPLAINT_LIST_FIELDS = ("customer__name", "product__name", "owner__username", "cause_category__name", "kind",
                         "severity", "step", "step_deadline", "registered_at", "channel")  # fmt: skip


class ComplaintListView(ScopedListView):
    model = Complaint
    permission_required = VIEW
    filterset_class = ComplaintFilterSet
    template_name = "complaints/complaint_list.html"
    export_name = "complaints"

    def get_queryset(self):
        # the table's columns only (the complaint's and its customer's other columns were
        # a tenth of the page to compile and load)
        queryset = (
            super()
            .get_queryset()
            .select_related("customer", "product", "owner", "cause_category")
            .only(*COMPLAINT_LIST_FIELDS)
        )
        return with_overdue(queryset, business_today())

    def get_table_class(self):
        from .tables import ComplaintTable

        return ComplaintTable


def _complaint(request, pk):
    return get_object_or_404(selectors.complaints_for(request.user), pk=pk)


@login_required
@permission_required(ADD, raise_exception=True)
def complaint_create(request):
    """Register a complaint (?customer=<id> preselects the customer, as the card's button does)."""
    initial = {}
    preset = request.GET.get("customer", "")
    if preset.isdigit():
        initial["customer"] = preset
    form = ComplaintForm(request.POST or None, request.FILES or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer = data["customer"]
        try:
            complaint = services.complaint_register(
                customer=customer,
                owner=customer.manager or request.user,
                description=data["description"],
                actor=request.user,
                severity=data["severity"],
                channel=data["channel"],
                contact=data["contact"],
                product=data["product"],
                deal=data["deal"],
                attachments=[data["attachment"]] if data["attachment"] else [],
            )
        except ValidationError as error:
            _add_errors(form, error, "attachment")
        else:
            messages.success(request, _("Complaint #%(id)s registered.") % {"id": complaint.pk})
            return redirect(complaint)
    return render(request, "complaints/complaint_form.html", {"form": form})


def _add_errors(form, error, default_field=None):
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(default_field if default_field in form.fields else None, error.messages)


@login_required
@permission_required(VIEW, raise_exception=True)
def complaint_detail(request, pk, advance_form=None, reopen_form=None, attachment_form=None):
    complaint = _complaint(request, pk)
    target = next_step(complaint.step)
    today = business_today()
    context = {
        "complaint": complaint,
        "overdue": complaint.is_overdue(today),
        "target": target,
        "target_label": Step(target).label if target else "",
        "advance_form": advance_form or (AdvanceForm(target=target, complaint=complaint) if target else None),
        "reopen_form": reopen_form or ReopenForm(),
        "can_reopen": complaint.step in (Step.PROCESS_FIXED, Step.CLOSED),
        "attachment_form": attachment_form or AttachmentForm(),
        "transitions": selectors.complaint_transitions(complaint),
        "attachments": complaint.attachments.all(),
        "answers": complaint.response.answers.select_related("question") if complaint.response_id else [],
        "steps": [(value, label, _step_state(complaint.step, value)) for value, label in Step.choices],
    }
    return render(request, "complaints/complaint_detail.html", context)


def _step_state(current, step):
    order = list(Step.values)
    return "done" if order.index(step) < order.index(current) else ("current" if step == current else "todo")


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def complaint_advance(request, pk):
    complaint = _complaint(request, pk)
    target = next_step(complaint.step)
    if target is None:
        messages.error(request, _("The complaint is closed: reopen it to work on it again."))
        return redirect(complaint)
    form = AdvanceForm(request.POST, target=target, complaint=complaint)
    if form.is_valid():
        try:
            services.complaint_advance(complaint=complaint, actor=request.user, changes=form.changes(),
                                       text=form.cleaned_data["text"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Complaint #%(id)s: %(step)s.") % {"id": pk, "step": Step(target).label})
            return redirect(complaint)
    return complaint_detail(request, pk, advance_form=form)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def complaint_reopen(request, pk):
    complaint = _complaint(request, pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.complaint_reopen(complaint=complaint, actor=request.user, text=form.cleaned_data["text"])
        except ValidationError as error:
            _add_errors(form, error, "text")
        else:
            messages.success(request, _("Complaint #%(id)s reopened: back to investigating.") % {"id": pk})
            return redirect(complaint)
    return complaint_detail(request, pk, reopen_form=form)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def complaint_attach(request, pk):
    complaint = _complaint(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attachment_add(complaint=complaint, upload=form.cleaned_data["file"], actor=request.user,
                                    title=form.cleaned_data["title"])
        except ValidationError as error:
            _add_errors(form, error, "file")
        else:
            messages.success(request, _("File attached."))
            return redirect(complaint)
    return complaint_detail(request, pk, attachment_form=form)


@login_required
@permission_required(VIEW, raise_exception=True)
def attachment_download(request, pk):
    attachment = get_object_or_404(
        ComplaintAttachment.objects.filter(complaint__in=Complaint.objects.visible_to(request.user)), pk=pk
    )
    if not attachment.file or not attachment.file.storage.exists(attachment.file.name):
        messages.info(request, _("%(title)s has no file any more.") % {"title": attachment.title})
        return redirect(attachment.complaint)
    # Always a download, never shown inline: an upload cannot run as a page of this site.
    return FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.file.name.rsplit("/")[-1])


#
# Statistics
#

# Lazy: read when a page renders, in that request's language.
STAT_TABLES = {
    "product": _lazy("Product"),
    "cause_category": _lazy("Cause category"),
    "severity": _lazy("Severity"),
    "channel": _lazy("Channel"),
    "manager": _lazy("Manager"),
    "step": _lazy("Step reached"),
    "kind": _lazy("Kind"),
}
SATISFACTION_TABLES = {"product": _lazy("Product"), "question": _lazy("Question"), "manager": _lazy("Manager")}


def _period(request):
    today = business_today()
    try:
        start = date_from(request.GET.get("start")) or months_before(today, 12) + timedelta(days=1)
        end = date_from(request.GET.get("end")) or today
    except ValueError:
        start, end = months_before(today, 12) + timedelta(days=1), today
    return start, end


def date_from(text):
    return date.fromisoformat(text) if text else None


def _pct(value):
    return None if value is None else round(100 * float(value), 1)


@login_required
@permission_required(VIEW, raise_exception=True)
def statistics(request):
    """Complaints by composition, close times and SLA breaches; satisfaction per product,
    question and manager over time; response rate. ?_export=csv|xlsx&table=<name>
    downloads one table. A fixed number of queries."""
    start, end = _period(request)
    complaints = Complaint.objects.visible_to(request.user).filter(
        registered_at__date__gte=start, registered_at__date__lte=end
    )
    frame = selectors.complaint_frame(complaints)
    answers = selectors.answer_frame(selectors.answers_visible_to(request.user, start=start, end=end))
    surveys, answered = selectors.survey_counts(request.user, start=start, end=end)

    compositions = {name: stats.composition(frame, name) for name in STAT_TABLES}
    satisfactions = {name: stats.satisfaction(answers, name) for name in SATISFACTION_TABLES}
    over = request.GET.get("over") if request.GET.get("over") in SATISFACTION_TABLES else "manager"
    over_time = stats.satisfaction_over_time(answers, over)

    fmt, table = request.GET.get("_export"), request.GET.get("table", "")
    if fmt in CONTENT_TYPES:
        if table in compositions:
            rows = compositions[table].itertuples(index=False)
            return export_response(fmt, f"complaints-by-{table}", [str(STAT_TABLES[table]), _("Complaints"),
                                                                   _("Share %")],
                                   [(row.label, int(row.count), _pct(row.share)) for row in rows])
        if table.startswith("satisfaction-") and table[13:] in satisfactions:
            name = table[13:]
            rows = satisfactions[name].itertuples(index=False)
            return export_response(
                fmt, f"satisfaction-by-{name}",
                [str(SATISFACTION_TABLES[name]), _("Responses"), _("Answers"), _("Average"), _("Share <= 3 %")],
                [(row.label, int(row.responses), int(row.answers), float(row.average), _pct(row.low_share))
                 for row in rows],
            )
        if table == "over-time":
            header = [_("Period"), *[str(column) for column in over_time.columns]]
            return export_response(fmt, f"satisfaction-over-time-by-{over}", header,
                                   [(period, *[None if value != value else float(value) for value in values])
                                    for period, values in zip(over_time.index, over_time.values, strict=True)])
        raise Http404

    def bars(table, value="count", label=""):
        # Short category names under the bars (they would overlap); the table beside has them whole.
        names = [str(v) if len(str(v)) <= 14 else str(v)[:13] + "…" for v in table["label"]]
        return charts.bar_chart(names, [(label, [float(v) for v in table[value]])], height=180, label=label)

    context = {
        "start": start,
        "end": end,
        "total": len(frame),
        "close": stats.close_times(frame),
        "breaches": stats.sla_breaches(frame),
        "surveys": surveys,
        "answered": answered,
        "response_rate": _pct(stats.response_rate(surveys, answered)),
        "compositions": [
            (name, label, compositions[name], bars(compositions[name], label=str(label))) for name, label in
            STAT_TABLES.items()
        ],
        "satisfactions": [
            (name, label, satisfactions[name], bars(satisfactions[name], "average", str(label)))
            for name, label in SATISFACTION_TABLES.items()
        ],
        "over_time": over_time,
        # a list: the frame's columns looked up from the template try over_time["columns"] first
        "over_time_columns": list(over_time.columns),
        "over": over,
        "over_choices": list(SATISFACTION_TABLES.items()),
        "over_time_rows": [(period, list(values)) for period, values in zip(over_time.index, over_time.values,
                                                                            strict=True)],
        "over_time_chart": charts.line_chart(
            list(over_time.index),
            [(str(column), [0 if v != v else float(v) for v in over_time[column]]) for column in over_time.columns],
            label=_("Average score by quarter"),
        ) if not over_time.empty else "",
    }
    return render(request, "complaints/statistics.html", context)


#
# Surveys by the manager
#


SURVEY_LIST_FIELDS = ("customer__name", "product__name", "product__sku", "reason", "channel", "created_at",
                      "sent_at", "answered_at", "expires")  # fmt: skip


class SurveyListView(ScopedListView):
    model = Survey
    permission_required = "complaints.view_survey"
    filterset_class = SurveyFilterSet
    template_name = "complaints/survey_list.html"
    export_name = "surveys"

    def get_queryset(self):
        # the table's columns only, as the complaint list
        return super().get_queryset().select_related("customer", "product").only(*SURVEY_LIST_FIELDS)

    def get_table_class(self):
        from .tables import SurveyTable

        return SurveyTable


@login_required
@permission_required("complaints.add_survey", raise_exception=True)
def survey_start(request):
    """Ask a customer about a product now (during a call) or by e-mail."""
    initial = {key: request.GET[key] for key in ("customer", "product") if request.GET.get(key, "").isdigit()}
    form = SurveyStartForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            survey, token = services.survey_create(customer=data["customer"], product=data["product"],
                                                   actor=request.user, channel=data["channel"],
                                                   reason=Survey.Reason.MANUAL)
            if token:
                services.survey_send(survey=survey, token=token, base_url=request.build_absolute_uri("/"))
        except services.SurveyNotSent as error:
            # The survey exists; its e-mail waits for a retry or failed (the admin shows which).
            messages.warning(request, " ".join(error.messages))
            return redirect("complaints:survey_list")
        except ValidationError as error:
            _add_errors(form, error, "product")
        else:
            if token:
                messages.success(request, _("The survey link was e-mailed to %(to)s.")
                                 % {"to": services.survey_recipient(survey)})
                return redirect("complaints:survey_list")
            return redirect("complaints:survey_fill", pk=survey.pk)
    return render(request, "complaints/survey_start.html", {"form": form})


@login_required
@permission_required("complaints.add_response", raise_exception=True)
def survey_fill(request, pk):
    """The manager types in the customer's answers during a call."""
    survey = get_object_or_404(Survey.objects.visible_to(request.user).select_related("customer", "product",
                                                                                     "questionnaire"), pk=pk)
    if survey.answered_at is not None:
        messages.info(request, _("This survey has been answered already."))
        return redirect("complaints:survey_list")
    questions = services.survey_questions(survey)
    form = AnswersForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            response = services.survey_respond(survey=survey, answers=form.answers(), filled_by=request.user,
                                               comment=form.cleaned_data["comment"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            complaint = getattr(response, "complaint", None)
            if complaint is not None:
                messages.warning(request, _("Low scores: complaint #%(id)s opened (%(kind)s).")
                                 % {"id": complaint.pk, "kind": complaint.get_kind_display()})
                return redirect(complaint)
            messages.success(request, _("Thank you: the answers are saved."))
            return redirect("complaints:survey_list")
    return render(request, "complaints/survey_fill.html", {"survey": survey, "form": form})


#
# The public survey (no login)
#


def survey_public(request, token):
    """/s/<token>/: the customer's single-use form. A used, expired or unknown link shows a
    friendly page and saves nothing; the page names only the product asked about."""
    survey, state = services.survey_by_token(token)
    if state != services.LinkState.OK:
        return _link_closed(request, state)
    questions = services.survey_questions(survey)
    form = AnswersForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_respond(survey=survey, answers=form.answers(), comment=form.cleaned_data["comment"])
        except services.SurveyAnswered:
            return _link_closed(request, services.LinkState.USED)
        except ValidationError:
            return _link_closed(request, services.LinkState.EXPIRED)
        return render(request, "complaints/public/thanks.html")
    return render(request, "complaints/public/survey.html", {"product": survey.product.name, "form": form},
                  status=400 if form.errors else 200)


def _link_closed(request, state):
    status = {services.LinkState.USED: 410, services.LinkState.EXPIRED: 410}.get(state, 404)
    return render(request, "complaints/public/closed.html", {"state": state}, status=status)

