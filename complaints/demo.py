"""Demo complaints and surveys (hooks.DEMO_SEEDERS, order 80): questionnaires for the
demo products, two years of survey responses with their low scores and the complaints
those opened, registered complaints at every step, some overdue. Everything goes through
complaints.services at past dates, so the timeline and the SLA deadlines are what real
use would leave behind."""

import hashlib
import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from customers.models import Contact, Product, ProductLine

from . import services, workflow
from .models import (
    CauseCategory,
    Complaint,
    NonWorkingDay,
    Question,
    Questionnaire,
    Response,
    Survey,
    SurveySettings,
)

CAUSES = ["Late delivery", "Damaged packaging", "Wrong item shipped", "Invoice error", "Product defect",
          "Rude or slow support", "Training gap"]
QUESTIONS = {
    "Equipment": ["Quality of the equipment", "Delivery speed", "Installation and start-up", "Value for money"],
    "Consumables": ["Product quality", "Delivery speed", "Packaging", "Ordering and payment"],
    "Services": ["Competence of our staff", "Punctuality", "Clarity of the report", "Value for money"],
}
DESCRIPTIONS = [
    "The delivery came a week late and the customer had to stop a line.",
    "Two boxes arrived crushed; the contents were damaged.",
    "The invoice shows the wrong discount.",
    "The machine stops after an hour of work.",
    "Nobody answered the support line for two days.",
    "The wrong label size was delivered.",
]


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


def _work(complaint, *, steps: int, day: date, today: date, rng, actor, categories, until: date | None = None):
    """Advance `complaint` `steps` steps from `day`, never past today: a few days apart, or
    spread evenly up to `until` (so a complaint left open is still within its deadline)."""
    gap = max((until - day).days // max(steps, 1), 1) if until else None
    for _ in range(steps):
        target = workflow.next_step(complaint.step)
        if target is None:
            break
        day = day + timedelta(days=gap or rng.randint(1, 5))
        if day > today:
            break
        changes = {}
        if target == workflow.CAUSE_ELIMINATED:
            changes = {"cause": rng.choice(["Carrier missed the slot", "Packing done without corner guards",
                                            "Price list not updated", "Worn part not replaced at service"]),
                       "cause_category": rng.choice(categories), "action": "Replaced the goods and apologised."}
        elif target == workflow.PROCESS_FIXED:
            changes = {"process_change": "Checklist step added; the team was briefed.",
                       "efficacy_check_date": day + timedelta(days=rng.randint(7, 30))}
        elif target == workflow.CLOSED:
            day = max(day, complaint.efficacy_check_date)
            if day > today:
                break
            changes = {"efficacy_result": "No repeat in the period checked.", "efficacy_ok": True}
        complaint = services.complaint_advance(complaint=complaint, actor=actor, changes=changes,
                                               text="", today=day, at=_noon(day))
    return complaint


def _open_until(today: date, rng) -> date | None:
    # Most complaints still open are worked on time; about one in five has fallen behind.
    return None if rng.random() < 0.2 else today - timedelta(days=rng.randint(0, 2))


def seed_demo_complaints(demo) -> None:
    rng = random.Random(demo.seed + 80)
    today = demo.today
    categories = [CauseCategory.objects.get_or_create(name=name)[0] for name in CAUSES]
    for year in (today.year - 2, today.year - 1, today.year, today.year + 1):
        for month, day, name in ((1, 1, "New Year's Day"), (12, 25, "Christmas Day"), (12, 26, "Boxing Day")):
            NonWorkingDay.objects.get_or_create(date=date(year, month, day), defaults={"name": name})
    if not SurveySettings.objects.exists():
        SurveySettings.objects.create()
    for line_name, questions in QUESTIONS.items():
        line = ProductLine.objects.filter(name=line_name).first()
        if line is None:
            continue
        questionnaire, created = Questionnaire.objects.get_or_create(
            product_line=line, defaults={"name": f"{line_name}: satisfaction"}
        )
        if created:
            Question.objects.bulk_create(
                Question(questionnaire=questionnaire, text=text, order=10 * (i + 1)) for i, text in enumerate(questions)
            )
    products = list(Product.objects.filter(line__questionnaire__isnull=False))
    customers = [customer for customer in demo.customers if customer.manager_id]
    if not products or not customers:
        return
    contacts = {}
    for contact in Contact.objects.filter(customer__in=customers).order_by("customer_id", "-is_primary", "pk"):
        contacts.setdefault(contact.customer_id, contact)
    questionnaires = {q.product_line_id: q for q in Questionnaire.objects.filter(product_line__isnull=False)}

    # Two years of e-mailed surveys, one customer at most every four months.
    surveys = []
    for customer in rng.sample(customers, k=min(len(customers), max(1, len(customers) * 2 // 3))):
        day = today - timedelta(days=rng.randint(700, 730))
        while True:
            day += timedelta(days=rng.randint(120, 300))
            if day > today - timedelta(days=3):
                break
            product = rng.choice(products)
            surveys.append(Survey(
                customer=customer, contact=contacts.get(customer.pk), product=product,
                questionnaire=questionnaires[product.line_id], reason=rng.choice(list(Survey.Reason.values[:3])),
                channel=Survey.Channel.EMAIL,
                token_hash=hashlib.sha256(f"demo-{customer.pk}-{day}".encode()).hexdigest(),
                created_at=_noon(day), sent_at=_noon(day), expires=_noon(day + timedelta(days=30)),
                delivery=Survey.Delivery.SENT, attempts=1,
            ))
    Survey.objects.bulk_create(surveys)
    questions = {q.pk: list(q.questions.order_by("order")) for q in questionnaires.values()}
    opened = 0
    for survey in surveys:
        if rng.random() < 0.25:
            continue  # not every customer answers
        day = timezone.localdate(survey.created_at) + timedelta(days=rng.randint(0, 6))
        asked = questions[survey.questionnaire_id]
        answers = {question.pk: (rng.choice([4, 5, 5]), "") for question in asked}
        mood = rng.random()
        if mood < 0.08:  # openly unhappy about one thing
            answers[rng.choice(asked).pk] = (rng.choice([1, 2]), "Not what we were promised.")
        elif mood < 0.25:  # a polite 3: hidden dissatisfaction
            answers[rng.choice(asked).pk] = (3, "")
        response = services.survey_respond(survey=survey, answers=answers, at=_noon(day), today=day)
        complaint = Complaint.objects.filter(response=response).first()
        if complaint is not None:
            opened += 1
            age = (today - day).days
            if age > 90:
                _work(complaint, steps=4, day=day, today=today, rng=rng, actor=complaint.owner, categories=categories)
            else:
                _work(complaint, steps=rng.randint(1, 3), day=day, today=today, rng=rng, actor=complaint.owner,
                      categories=categories, until=_open_until(today, rng))

    # Registered complaints at every step; the recent ones left open run late.
    registered = 0
    for index in range(max(10, len(customers) // 8)):
        customer = rng.choice(customers)
        day = today - timedelta(days=rng.randint(1, 500))
        complaint = services.complaint_register(
            customer=customer, owner=customer.manager, description=rng.choice(DESCRIPTIONS), actor=customer.manager,
            severity=rng.choice(["low", "medium", "medium", "high", "critical"]),
            channel=rng.choice(["phone", "email", "meeting", "letter", "website"]),
            contact=contacts.get(customer.pk), product=rng.choice(products), today=day, at=_noon(day),
        )
        steps = index % 5
        _work(complaint, steps=steps, day=day, today=today, rng=rng, actor=customer.manager, categories=categories,
              until=_open_until(today, rng) if steps < 4 else None)
        registered += 1
    # A reopened one, so the timeline shows it.
    closed = Complaint.objects.filter(step=workflow.CLOSED, kind=Complaint.Kind.REGISTERED).first()
    if closed is not None:
        services.complaint_reopen(complaint=closed, actor=closed.owner, text="The same fault came back a month later.",
                                  today=today, at=timezone.now())
    # Calls to make: surveys the managers ask in person.
    calls = [
        Survey(customer=customer, contact=contacts.get(customer.pk), product=product,
               questionnaire=questionnaires[product.line_id], reason=Survey.Reason.YEARLY,
               channel=Survey.Channel.CALL, created_at=_noon(today - timedelta(days=rng.randint(0, 5))))
        for customer, product in ((rng.choice(customers), rng.choice(products)) for _ in range(6))
    ]
    Survey.objects.bulk_create(calls)
    demo.say(
        f"Surveys: {len(surveys)} sent over two years, {Response.objects.count()} answered, {opened} opened a "
        f"complaint; {registered} complaints registered by hand; {len(calls)} surveys to make by call."
    )


def reset_demo() -> None:
    Complaint.objects.all().delete()
    Survey.objects.all().delete()
