"""Possible duplicates of a customer being created or edited.

Duplicates matter company-wide, so the search runs over every customer; what the user
is shown is narrowed afterwards (`duplicates_for_user`): a customer outside their scope
is only "a customer of another manager", never its name or link.

Rules: the same normalised name (customers.models.normalize_name), the same tax id
(exact once spaces are removed), the same email (case-insensitive) or the same phone
(digits only, at least MIN_PHONE_DIGITS of them).
"""

import operator
from functools import reduce

from django.db.models import Q, Value
from django.db.models.functions import Replace
from django.utils.translation import gettext_lazy as _

from .models import Customer, normalize_name

MIN_PHONE_DIGITS = 6
# Separators people type in phone numbers; anything else stays and is compared as is.
PHONE_SEPARATORS = (" ", "-", "(", ")", ".", "/", "+")
REASON_NAME, REASON_TAX_ID, REASON_EMAIL, REASON_PHONE = "same name", "same tax id", "same email", "same phone"
# What a person reads for each reason (the reasons themselves are keys).
REASON_LABELS = {
    REASON_NAME: _("same name"),
    REASON_TAX_ID: _("same tax id"),
    REASON_EMAIL: _("same email"),
    REASON_PHONE: _("same phone"),
}


def compact_tax_id(value: str) -> str:
    return "".join((value or "").split())


def phone_digits(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit())


def _without(expression, characters):
    for character in characters:
        expression = Replace(expression, Value(character), Value(""))
    return expression


def find_duplicates(*, name, tax_id, email, phone, exclude_pk=None, limit: int = 20) -> list[tuple[Customer, list]]:
    """Customers (across all managers) that look like the one described, each with the
    reasons it matched, at most `limit`, by name. `exclude_pk` leaves out the customer
    being edited. One query."""
    normalized = normalize_name(name or "")
    tax = compact_tax_id(tax_id)
    email = (email or "").strip()
    digits = phone_digits(phone)
    conditions = []
    if normalized:
        conditions.append(Q(normalized_name=normalized))
    if tax:
        conditions.append(Q(tax_compact=tax))
    if email:
        conditions.append(Q(email__iexact=email))
    if len(digits) >= MIN_PHONE_DIGITS:
        conditions.append(Q(phone_compact=digits))
    if not conditions:
        return []
    queryset = Customer.objects.annotate(
        tax_compact=_without("tax_id", (" ", "\t")),
        phone_compact=_without("phone", PHONE_SEPARATORS),
    ).filter(reduce(operator.or_, conditions))
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    found = []
    for customer in queryset.select_related("manager").order_by("name", "pk")[:limit]:
        reasons = []
        if normalized and customer.normalized_name == normalized:
            reasons.append(REASON_NAME)
        if tax and compact_tax_id(customer.tax_id) == tax:
            reasons.append(REASON_TAX_ID)
        if email and customer.email.casefold() == email.casefold():
            reasons.append(REASON_EMAIL)
        if len(digits) >= MIN_PHONE_DIGITS and phone_digits(customer.phone) == digits:
            reasons.append(REASON_PHONE)
        if reasons:
            found.append((customer, reasons))
    return found


def duplicates_for_user(duplicates: list[tuple[Customer, list]], user) -> list[dict]:
    """What `user` may be shown of `duplicates`: the customer for those in their scope,
    None (shown as "a customer of another manager") for the rest; reasons for all."""
    ids = [customer.pk for customer, _reasons in duplicates]
    visible = set(Customer.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    return [
        {"customer": customer if customer.pk in visible else None, "reasons": [REASON_LABELS[r] for r in reasons]}
        for customer, reasons in duplicates
    ]
