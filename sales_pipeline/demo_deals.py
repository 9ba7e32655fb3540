"""Demo pipeline: deals at every stage, won and lost ones (with reasons at every stage),
partial payments and refunds, and overdue control dates, spread over the last ten
months. Every deal is built through sales_pipeline.services.deals at past times, so its stage
history, payments (and their ledger lines) and product statuses are what real use
would leave behind. Called by the seed_demo command after the ledger is seeded."""

from __future__ import annotations

import importlib
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from customers.models import Product

from . import deal_rules
from .models import Deal, Payment, RefusalReason, Stage
from .services import deals as deal_services

SOURCES = ["Referral", "Website", "Exhibition", "Cold call", "Partner", "Returning customer"]
# (what happens to the deal, its final stage), drawn in turn
SCENARIOS = (
    [("open", stage) for stage in Stage for _ in range(2)]
    + [("won", Stage.CLOSING)] * 5
    + [("lost", stage) for stage in Stage]
)
PRICES = {"EQ": (4_000, 18_000), "CO": (40, 300), "SV": (500, 3_000)}
QUANTITIES = {"EQ": (1, 3), "CO": (10, 60), "SV": (1, 4)}


def ensure_reference_data() -> None:
    """Refusal reasons and document templates, as migration 0003 seeds them (a test that
    flushes the database removes them)."""
    migration = importlib.import_module("sales_pipeline.migrations.0003_refusal_reasons_and_document_templates")
    migration.seed(apps, None)


def reset_deals() -> None:
    """Delete every deal (payments first: they protect their deal). The demo's --reset."""
    Payment.objects.all().delete()
    Deal.objects.all().delete()


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def _lines(products: list[Product], rng: random.Random) -> list[dict]:
    lines = []
    for product in rng.sample(products, rng.randint(1, min(3, len(products)))):
        family = product.sku[:2]
        low, high = PRICES.get(family, (100, 1_000))
        quantity_low, quantity_high = QUANTITIES.get(family, (1, 5))
        lines.append(
            {
                "product": product,
                "price": Decimal(rng.randint(low, high)),
                "quantity": Decimal(rng.randint(quantity_low, quantity_high)),
                "discount": Decimal(rng.choice([0, 0, 0, 5, 10])),
            }
        )
    return lines


def _enter_data(deal: Deal, day: date, today: date, rng: random.Random, actor) -> Deal:
    """The data of the deal's current stage, as a diligent manager enters it on `day`."""
    stage = deal.stage
    if stage == Stage.PRESENTATION:
        changes = {"minutes_sent": day}
    elif stage == Stage.OFFER:
        changes = {"offer_sent": day, "offer_expires": day + timedelta(days=rng.choice([10, 14, 30]))}
    elif stage == Stage.AGREEMENT:
        changes = {"contract_signed": day, "signatories": rng.choice(["CEO", "Managing director", "CFO and COO"])}
    elif stage == Stage.PAYMENT:
        changes = {
            "invoice_number": f"INV-D{deal.pk:05d}",
            "invoice_date": day,
            "invoice_expires": day + timedelta(days=14),
        }
    elif stage == Stage.DELIVERY:
        changes = {"event_date": day, "preparation_agreed": "Access, power and a contact person on site agreed."}
    else:
        next_contact = day + timedelta(days=60)
        if next_contact < today:
            next_contact = today + timedelta(days=rng.randint(1, 45))
        changes = {
            "act_signed": day,
            "survey_date": day + timedelta(days=14),
            "next_contact": next_contact,
        }
    deal = deal_services.deal_update(deal=deal, changes=changes, actor=actor)
    if stage == Stage.PAYMENT:  # a 50 % advance
        advance = (deal.amount / 2).quantize(Decimal("0.01"))
        deal_services.payment_record(deal=deal, date=day, amount=advance, actor=actor, note="50 % advance")
    return deal


def _seed_one(customer, manager, products, scenario, rng: random.Random, today: date, reasons) -> Deal:
    outcome, final = scenario
    steps = [rng.randint(3, 20) for _ in range(int(final))]  # days spent in each stage
    start = today - timedelta(days=sum(steps) + rng.randint(2, 200))
    name = rng.choice(["Equipment upgrade", "Consumables supply", "Service contract", "New line", "Annual order"])
    deal = deal_services.deal_create(
        customer=customer,
        manager=manager,
        title=f"{customer.name}: {name.lower()}"[:200],
        sale_type=rng.choice(Deal.SaleType.values),
        source=rng.choice(SOURCES),
        expected_close=start + timedelta(days=sum(steps) + 20),
        lines=_lines(products, rng),
        actor=manager,
        at=_noon(start),
    )
    day = start
    for stage_days in steps[:-1]:
        deal = _enter_data(deal, day + timedelta(days=1), today, rng, manager)
        day += timedelta(days=stage_days)
        if deal.stage == Stage.DELIVERY:
            # the rest after delivery
            deal_services.payment_record(deal=deal, date=day, amount=deal_rules.deal_money(deal).due, actor=manager)
        deal = deal_services.deal_move(deal=deal, to_stage=deal.stage + 1, actor=manager, at=_noon(day))
    last = day + timedelta(days=steps[-1])
    if outcome == "won":
        deal = _enter_data(deal, last, today, rng, manager)
        deal = deal_services.deal_close(deal=deal, actor=manager, grade=rng.choice([3, 4, 4, 5, 5]), at=_noon(last))
        if rng.random() < 0.5 and deal.survey_date < today:
            deal_services.deal_update(deal=deal, changes={"survey_sent": deal.survey_date}, actor=manager)
        if rng.random() < 0.25:  # part of the goods came back
            refund = -(deal.amount / 10).quantize(Decimal("0.01"))
            deal_services.payment_record(deal=deal, date=min(last + timedelta(days=5), today), amount=refund,
                                    actor=manager, note="Returned goods")  # fmt: skip
    elif outcome == "lost":
        reason = rng.choice(reasons[deal.stage])
        retry = last + timedelta(days=90) if deal.stage == Stage.PRESENTATION else None
        deal = deal_services.deal_lose(
            deal=deal, reason=reason, comment="The customer said so on the phone.", retry_date=retry,
            actor=manager, at=_noon(last),
        )  # fmt: skip
        paid = deal_rules.deal_money(deal).paid
        if paid > 0:  # the advance goes back
            deal_services.payment_record(deal=deal, date=min(last + timedelta(days=3), today), amount=-paid,
                                    actor=manager, note="Advance returned")  # fmt: skip
    elif deal.stage in (Stage.PRESENTATION, Stage.OFFER, Stage.AGREEMENT) or rng.random() < 0.6:
        # open: some of the current stage's data entered already (dates may be overdue by now)
        deal = _enter_data(deal, day + timedelta(days=1), today, rng, manager)
    return deal


def seed_deals(*, customers, users: dict, rng: random.Random, today: date) -> int:
    """Deals for about 40 % of `customers` (at least every scenario once); returns the
    number of deals. Pool customers' deals go to manager1."""
    ensure_reference_data()
    products = list(Product.objects.filter(is_active=True).order_by("sku"))
    if not products or not customers:
        return 0
    reasons = {stage: list(RefusalReason.objects.filter(stage=stage, is_active=True)) for stage in Stage}
    count = max(len(SCENARIOS), int(len(customers) * 0.4))
    chosen = rng.sample(list(customers), min(count, len(customers)))
    scenarios = list(SCENARIOS)
    deals = 0
    for number, customer in enumerate(chosen):
        manager = customer.manager or users["manager1"]
        scenario = scenarios[number % len(scenarios)] if number < len(scenarios) else rng.choice(scenarios)
        _seed_one(customer, manager, products, scenario, rng, today, reasons)
        deals += 1
    return deals
