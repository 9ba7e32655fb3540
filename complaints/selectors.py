"""Reads of the complaints app: the list's rows, what the nightly job needs to know, and
the statistics. Each is a fixed number of grouped queries whatever the data size."""

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
from django.db.models import Count, Exists, Max, Min, OuterRef, Q
from django.utils import timezone

from crm_project.dates import business_today
from customers.models import Product
from sales_pipeline.models import Deal, DealLine
from sales_pipeline.selectors import product_days

from . import satisfaction
from .models import Answer, Complaint, Questionnaire, Response, Step, Survey


def complaints_for(user):
    return Complaint.objects.visible_to(user).select_related(
        "customer", "product", "owner", "cause_category", "contact", "deal"
    )


#
# Survey scheduling
#


def surveyable_products() -> set[int]:
    """Products that have an active questionnaire with questions, their own or their line's."""
    with_questions = Questionnaire.objects.filter(is_active=True, questions__is_active=True)
    own = with_questions.filter(product__isnull=False).values("product_id")
    lines = with_questions.filter(product_line__isnull=False).values("product_line_id")
    return set(
        Product.objects.filter(Q(pk__in=own) | Q(line_id__in=lines)).values_list("pk", flat=True)
    )


def survey_facts(*, today: date, yearly_days: int = 365) -> tuple[list[satisfaction.CustomerFacts], dict]:
    """For every customer with something to survey about: the facts satisfaction.survey_due
    decides on, and {(customer_id, product_id): deal_id} of the won deals whose survey is
    due. Five grouped queries, whatever the number of customers."""
    products = surveyable_products()
    if not products:
        return [], {}
    last = {
        row["customer_id"]: timezone.localdate(row["last"])
        for row in Survey.objects.values("customer_id").annotate(last=Max("created_at")).order_by()
    }
    first_bought: dict[int, dict[int, date]] = defaultdict(dict)
    last_bought: dict[int, dict[int, date]] = defaultdict(dict)
    for row in product_days(up_to=today).filter(product_id__in=products):
        first_bought[row["customer_id"]][row["product_id"]] = row["first_date"]
        last_bought[row["customer_id"]][row["product_id"]] = row["last_date"]
    won = (
        DealLine.objects.filter(deal__status=Deal.Status.WON, product_id__in=products, deal__closed_at__isnull=False)
        .values("deal__customer_id", "product_id")
        .annotate(first=Min("deal__closed_at"))
        .order_by()
    )
    for row in won:
        day = timezone.localdate(row["first"])
        customer, product = row["deal__customer_id"], row["product_id"]
        if product not in first_bought[customer] or day < first_bought[customer][product]:
            first_bought[customer][product] = day
        last_bought[customer][product] = max(last_bought[customer].get(product, day), day)
    deal_dates: dict[int, dict[int, date]] = defaultdict(dict)
    surveyed = Survey.objects.filter(deal=OuterRef("pk"))
    due_deals = (
        Deal.objects.filter(status=Deal.Status.WON, survey_date__lte=today)
        .annotate(surveyed=Exists(surveyed), product_id=Min("lines__product_id"))
        .filter(surveyed=False, product_id__in=products)
        .values("pk", "customer_id", "product_id", "survey_date")
    )
    deal_ids = {}
    for row in due_deals:
        current = deal_dates[row["customer_id"]].get(row["product_id"])
        if current is None or row["survey_date"] < current:
            deal_dates[row["customer_id"]][row["product_id"]] = row["survey_date"]
            deal_ids[(row["customer_id"], row["product_id"])] = row["pk"]
    year_ago = today - timedelta(days=yearly_days)
    facts = []
    for customer_id in set(first_bought) | set(deal_dates):
        bought = last_bought.get(customer_id, {})
        usual = max(bought, key=lambda product: (bought[product], product)) if bought else None
        facts.append(
            satisfaction.CustomerFacts(
                customer_id=customer_id,
                active=any(day > year_ago for day in bought.values()),
                last_survey=last.get(customer_id),
                first_bought=first_bought.get(customer_id, {}),
                deal_survey_dates=deal_dates.get(customer_id, {}),
                usual_product=usual,
            )
        )
    return facts, deal_ids


#
# Statistics
#


FRAME_FIELDS = [
    "pk", "product__name", "cause_category__name", "severity", "channel", "owner__username", "step", "kind",
    "registered_at", "closed_at", "step_deadline", "late_steps",
]


def complaint_frame(complaints) -> pd.DataFrame:
    """One row per complaint of `complaints` with the labels statistics groups by. One query."""
    from .models import Severity

    today = business_today()
    late = Count("transitions", filter=Q(transitions__late=True))
    # Read as tuples and handed to pandas column by column: a year of a director's
    # complaints is a thousand rows, and each step per row (dicts, from_records, a mapped
    # function per cell) made the page grow with the data (issue 15).
    rows = list(complaints.annotate(late_steps=late).values_list(*FRAME_FIELDS))
    columns = dict(zip(FRAME_FIELDS, (list(column) for column in zip(*rows, strict=True)), strict=True)) if rows else {
        name: [] for name in FRAME_FIELDS}
    labels = {
        "severity": dict(Severity.choices), "channel": dict(Complaint.Channel.choices),
        "step": dict(Step.choices), "kind": dict(Complaint.Kind.choices),
    }
    # Each label translated once, not once a row (a thousand rows: 4,000 lazy translations).
    for column, names in labels.items():
        shown = {value: str(name) for value, name in names.items()}
        columns[column] = [shown[value] if value in shown else str(value) for value in columns[column]]
    # Days from the rows' own datetimes: the frame's are pandas Timestamps, each converted
    # to the zone ten times slower.
    zone = timezone.get_current_timezone()
    columns["registered_on"] = [_local_day(moment, zone) for moment in columns["registered_at"]]
    columns["closed_on"] = [_local_day(moment, zone) if moment is not None else None
                            for moment in columns["closed_at"]]
    closed = str(Step.CLOSED.label)
    # a deadline read from the database is a date or None (never NaN, as a frame's cell can be)
    columns["overdue"] = [
        step != closed and deadline is not None and deadline < today
        for step, deadline in zip(columns["step"], columns["step_deadline"], strict=True)
    ]
    frame = pd.DataFrame(columns, columns=list(columns))
    return frame.rename(columns={"product__name": "product", "cause_category__name": "cause_category",
                                 "owner__username": "manager"})


def _local_day(moment, zone):
    """timezone.localdate(moment, zone) of an aware datetime read from the database, in one
    call instead of four (a thousand rows, two datetimes each)."""
    return moment.astimezone(zone).date() if moment.tzinfo is not None else timezone.localdate(moment, zone)


def answer_frame(answers) -> pd.DataFrame:
    """One row per answer of `answers`: response_id, score, product, question, manager,
    answered_on. One query."""
    rows = list(answers.values(
        "response_id", "score", "response__product__name", "question__text", "response__manager__username",
        "response__answered_at",
    ))
    frame = pd.DataFrame.from_records(rows, columns=[
        "response_id", "score", "response__product__name", "question__text", "response__manager__username",
        "response__answered_at",
    ])
    zone = timezone.get_current_timezone()  # the rows' datetimes, not the frame's Timestamps (complaint_frame)
    frame["answered_on"] = [timezone.localdate(row["response__answered_at"], zone) for row in rows]
    return frame.rename(columns={"response__product__name": "product", "question__text": "question",
                                 "response__manager__username": "manager"})


def answers_visible_to(user, *, start: date, end: date):
    return Answer.objects.filter(
        response__in=Response.objects.visible_to(user).filter(answered_at__date__gte=start, answered_at__date__lte=end)
    )


def survey_counts(user, *, start: date, end: date) -> tuple[int, int]:
    """(surveys put to customers in the range, of which answered)."""
    surveys = Survey.objects.visible_to(user).filter(created_at__date__gte=start, created_at__date__lte=end)
    counts = surveys.aggregate(total=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
    return counts["total"], counts["answered"]


def complaint_transitions(complaint):
    return complaint.transitions.select_related("by").order_by("at", "pk")


EXPORT_COLUMNS = ["id", "customer", "product", "kind", "step", "owner", "deadline", "response"]


def complaint_export_rows():
    """Every complaint as the export_complaints command writes it, by id. One query, streamed."""
    return (
        Complaint.objects.order_by("pk")
        .values_list("pk", "customer__external_ref", "product__sku", "kind", "step", "owner__username",
                     "step_deadline", "response_id")
        .iterator(chunk_size=2000)
    )
