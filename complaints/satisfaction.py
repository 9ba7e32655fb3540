"""Survey scores and who is due a survey, as plain rules (no Django)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

EXPLICIT = "explicit"
HIDDEN = "hidden"
LOW_SCORE = 3  # a score at or below this is dissatisfaction


def complaint_kind(scores: Iterable[int]) -> str | None:
    """The complaint a set of scores opens: "explicit" when any is <= 2, "hidden" when the
    lowest is 3, None when all are 4 or 5 (or there are none)."""
    scores = [int(score) for score in scores if score is not None]
    if not scores:
        return None
    lowest = min(scores)
    if lowest <= 2:
        return EXPLICIT
    if lowest == LOW_SCORE:
        return HIDDEN
    return None


YEARLY = "yearly"
NEW_PRODUCT = "new_product"
DEAL_CLOSED = "deal_closed"


@dataclass(frozen=True)
class CustomerFacts:
    """One customer's survey-relevant dates, read set-based by the nightly job."""

    customer_id: int
    active: bool
    last_survey: date | None  # the latest survey created for the customer, any product
    # product id -> the first day the customer bought it (first settlement line or won deal)
    first_bought: dict[int, date]
    # product id -> the survey date of a won deal with that product, not yet surveyed
    deal_survey_dates: dict[int, date]
    # the product a yearly survey asks about (the latest bought with a questionnaire)
    usual_product: int | None


@dataclass(frozen=True)
class Due:
    customer_id: int
    product_id: int
    reason: str


def survey_due(facts: CustomerFacts, *, today: date, min_interval_days: int, yearly_days: int = 365) -> Due | None:
    """The one survey the customer is due today, or None.

    Never within `min_interval_days` of the last survey. Then, first: a won deal whose
    survey date has come; then a product first bought in the last `yearly_days` and since
    the last survey; then the yearly survey of an active customer not surveyed for `yearly_days`."""
    if facts.last_survey is not None and (today - facts.last_survey).days < min_interval_days:
        return None
    deals = sorted((day, product) for product, day in facts.deal_survey_dates.items() if day <= today)
    if deals:
        return Due(facts.customer_id, deals[0][1], DEAL_CLOSED)
    recent = today - timedelta(days=yearly_days)
    # A first purchase counts while it is recent: an old one is the yearly survey's business.
    new = sorted(
        (day, product)
        for product, day in facts.first_bought.items()
        if recent < day <= today and (facts.last_survey is None or day > facts.last_survey)
    )
    if new:
        return Due(facts.customer_id, new[-1][1], NEW_PRODUCT)
    stale = facts.last_survey is None or facts.last_survey <= recent
    if facts.active and stale and facts.usual_product is not None:
        return Due(facts.customer_id, facts.usual_product, YEARLY)
    return None


def interval_allows(last_survey: date | None, *, today: date, min_interval_days: int) -> bool:
    return last_survey is None or (today - last_survey).days >= min_interval_days
