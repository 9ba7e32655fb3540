"""Target segments from rules on the from-birth attributes (domain.md section 3).

A rule is `field operator value`; a segment matches when all of its rules hold (a
segment without rules matches nobody); a customer falls into the first matching active
segment by priority, none -> non-target. The same rules exist twice, as SQL (`rule_q`,
for assigning the whole base in a few UPDATEs) and in Python (`rule_matches`, for one
customer on save); tests hold them equal.
"""

import logging

from django.core.exceptions import FieldError, ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

NUMBER_FIELDS = {"employees", "year_founded"}
BOOLEAN_FIELDS = {"has_branches"}
ORDERED_OPERATORS = {"gt", "gte", "lt", "lte"}
TRUE_WORDS, FALSE_WORDS = {"yes", "true", "1"}, {"no", "false", "0"}


# The key of the customers no segment takes in segments_assign's counts (shown as its label).
NON_TARGET = "non-target"

# What a rule saved before validation existed (or written past it) can raise when used.
RULE_ERRORS = (ValidationError, FieldError, AttributeError, TypeError, ValueError)


def rule_check(field: str, operator: str, raw: str) -> None:
    """Raise ValidationError, keyed by the form field at fault, unless `field operator raw`
    is a rule that can be applied (the admin form's clean)."""
    from .models import SegmentRule

    if field not in SegmentRule.Field.values:
        raise ValidationError({"field": _("“%(field)s” is not a field rules can use.") % {"field": field}})
    if operator not in SegmentRule.Operator.values:
        raise ValidationError({"operator": _("“%(operator)s” is not an operator.") % {"operator": operator}})
    try:
        parse_value(field, operator, raw or "")
    except ValidationError as error:
        raise ValidationError({"value": error.messages}) from error


def parse_value(field: str, operator: str, raw: str):
    """The rule's value in the field's type; a list for `in`. Raises ValidationError."""
    parts = [part.strip() for part in raw.split(",")] if operator == "in" else [raw.strip()]
    if field in NUMBER_FIELDS:
        try:
            values = [int(part) for part in parts]
        except ValueError as error:
            raise ValidationError(_("“%(value)s” is not a whole number.") % {"value": raw}) from error
    elif field in BOOLEAN_FIELDS:
        if operator not in {"eq", "ne"}:
            raise ValidationError(_("Yes/no fields only take 'equals' or 'does not equal'."))
        if parts[0].lower() not in TRUE_WORDS | FALSE_WORDS:
            raise ValidationError(_("Use yes or no."))
        values = [parts[0].lower() in TRUE_WORDS]
    else:
        if operator in ORDERED_OPERATORS:
            raise ValidationError(_("Text fields take equals, does not equal, contains or is one of."))
        values = [part.lower() for part in parts]
    return values if operator == "in" else values[0]


def rule_q(rule) -> Q:
    """The rule as a filter on customers. Text compares case-insensitively."""
    value = parse_value(rule.field, rule.operator, rule.value)
    field, op = rule.field, rule.operator
    text = field not in NUMBER_FIELDS | BOOLEAN_FIELDS
    if op == "in":
        if text:
            return Q(**{f"{field}__iexact": value[0]}) if len(value) == 1 else _any(field, value)
        return Q(**{f"{field}__in": value})
    if op == "contains":
        return Q(**{f"{field}__icontains": value}) if text else Q(**{field: value})
    if op in ORDERED_OPERATORS:
        return Q(**{f"{field}__{op}": value})
    equal = Q(**{f"{field}__iexact" if text else field: value})
    return equal if op == "eq" else ~equal


def _any(field, values) -> Q:
    condition = Q(pk__in=[])
    for value in values:
        condition |= Q(**{f"{field}__iexact": value})
    return condition


def rule_matches(customer, rule) -> bool:
    """The same rule on one customer object, with SQL's NULL semantics: a missing
    number is neither greater nor smaller than anything, but it 'does not equal' 5."""
    value = parse_value(rule.field, rule.operator, rule.value)
    actual = getattr(customer, rule.field)
    if isinstance(actual, str):
        actual = actual.lower()
    op = rule.operator
    if op == "in":
        return actual in value
    if op == "contains":
        return value in actual if isinstance(actual, str) else actual == value
    if op in ORDERED_OPERATORS:
        if actual is None:
            return False
        return {"gt": actual > value, "gte": actual >= value, "lt": actual < value, "lte": actual <= value}[op]
    return (actual == value) if op == "eq" else (actual != value)


def segment_q(segment) -> Q:
    rules = list(segment.rules.all())
    if not rules:
        return Q(pk__in=[])
    condition = Q()
    for rule in rules:
        condition &= rule_q(rule)
    return condition


def active_segments():
    from .models import Segment

    return list(Segment.objects.filter(is_active=True).prefetch_related("rules").order_by("priority", "name"))


def segment_for(customer, segments=None):
    """The first active segment (by priority) whose rules all hold for `customer`, or None."""
    for segment in active_segments() if segments is None else segments:
        rules = list(segment.rules.all())
        if rules and all(_safe_match(customer, rule) for rule in rules):
            return segment
    return None


def _safe_match(customer, rule) -> bool:
    """rule_matches, but a broken rule (bad data already in the table) does not match, and
    is logged, instead of failing the customer's save."""
    try:
        return rule_matches(customer, rule)
    except RULE_ERRORS:
        logger.warning("Segment rule %s (%s %s %r) cannot be applied; treated as not matching",
                       rule.pk, rule.field, rule.operator, rule.value, exc_info=True)  # fmt: skip
        return False


def segments_assign(queryset=None) -> dict[str, int]:
    """Put every customer of `queryset` (default: all) in its segment, set-based: one
    UPDATE per segment in priority order, each excluding the earlier segments' matches,
    then one for the non-target rest. Segment is derived data, so it is not audited per
    customer: the counts are logged here, and the admin records who triggered it. A segment
    with a broken rule matches nobody (logged), as in segment_for."""
    from .models import Customer

    queryset = Customer.objects.all() if queryset is None else queryset
    taken = Q(pk__in=[])
    counts = {}
    for segment in active_segments():
        try:
            condition = segment_q(segment)
            counts[segment.name] = queryset.filter(condition).exclude(taken).update(segment=segment)
        except RULE_ERRORS:
            logger.warning("Segment %s has a rule that cannot be applied; it matches nobody", segment.pk, exc_info=True)
            counts[segment.name] = 0
            continue
        taken |= condition
    counts[NON_TARGET] = queryset.exclude(taken).update(segment=None)
    logger.info("Segments reassigned: %s", counts)
    return counts


def segment_counts_text(counts: dict[str, int], separator: str = " ") -> str:
    """segments_assign's counts as a person reads them ("Leeds 2, Makers 0, non-target 5"),
    the non-target rest by its label in the reader's language."""
    return ", ".join(
        f"{_('non-target') if name == NON_TARGET else name}{separator}{count}" for name, count in counts.items()
    )
