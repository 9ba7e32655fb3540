"""The customer card's reads, compiled once per process and shape (crm_project.prepared).

The card asks a handful of small queries whose shape never changes from one customer to
the next: building and compiling them through the ORM cost more Python than the database
spends running them (issue 15). Each is the queryset the card built before, with the
customer's id as a Slot; whatever changes the SQL (the viewer's scope, the section probes
the viewer's permissions give) is part of the shape. The scope is in the SQL and runs on
every request, so a reassigned customer is out of it at once.
"""

from django.db.models import IntegerField
from django.http import Http404

from crm_project.prepared import Prepared
from customers.access import scope_key

from ..models import Contact, Customer, CustomerCompetitor, CustomerProduct, Interaction, PlannedContact, Product

TIMELINE = 30  # interactions on the card


def _customer(viewer, key, annotations, *, pk):
    # the referrer's name comes with its visibility (referred_name), not joined here
    return (
        Customer.objects.visible_to(viewer)
        .select_related("manager", "segment")
        .annotate(**dict(annotations))
        .filter(pk=pk)
        .order_by()
    )


_CUSTOMER = Prepared(_customer, pk=IntegerField())
_REFERRER = Prepared(
    lambda viewer, key, *, pk: Customer.objects.visible_to(viewer).filter(pk=pk).order_by().values("name"),
    pk=IntegerField(),
)


def card_customer(viewer, pk: int, annotations: dict) -> Customer:
    """The customer `viewer` may see, with its manager and segment and the section probes
    `annotations` (customers.views.customers.card_annotations); Http404 otherwise."""
    found = _CUSTOMER.objects(viewer, scope_key(viewer), tuple(annotations.items()), pk=pk)
    if not found:
        raise Http404("No customer found matching the query")
    return found[0]


def referrer_name(viewer, pk: int) -> str | None:
    """The referrer's name if `viewer` may see it, else None."""
    rows = _REFERRER.rows(viewer, scope_key(viewer), pk=pk)
    return rows[0]["name"] if rows else None


def _of(customer, objects: list, field: str = "customer") -> list:
    """As from the customer's related manager: each row knows its customer without a query."""
    cache = objects[0]._meta.get_field(field) if objects else None
    for obj in objects:
        cache.set_cached_value(obj, customer)
    return objects


_INTERACTIONS = Prepared(
    lambda *, customer: (
        Interaction.objects.filter(customer_id=customer).select_related("manager", "contact")[:TIMELINE]
    ),
    customer=IntegerField(),
)
_PLANNED = Prepared(
    lambda *, customer: PlannedContact.objects.filter(
        customer_id=customer, status=PlannedContact.Status.PLANNED
    ).select_related("manager", "product"),
    customer=IntegerField(),
)
_CONTACTS = Prepared(lambda *, customer: Contact.objects.filter(customer_id=customer), customer=IntegerField())
_COMPETITORS = Prepared(
    lambda *, customer: CustomerCompetitor.objects.filter(customer_id=customer).select_related("competitor", "product"),
    customer=IntegerField(),
)
_TARGETS = Prepared(
    lambda *, segment: Product.objects.filter(portrait_entries__segment_id=segment).select_related("line"),
    segment=IntegerField(),
)
_STATUSES = Prepared(
    lambda *, customer: CustomerProduct.objects.filter(customer_id=customer).select_related("product", "product__line"),
    customer=IntegerField(),
)


def interactions(customer) -> list[Interaction]:
    """The newest TIMELINE interactions, with their manager and contact."""
    return _of(customer, _INTERACTIONS.objects(customer=customer.pk))


def planned_contacts(customer) -> list[PlannedContact]:
    """The open planned contacts, with their manager and product."""
    return _of(customer, _PLANNED.objects(customer=customer.pk))


def contacts(customer) -> list[Contact]:
    return _of(customer, _CONTACTS.objects(customer=customer.pk))


def competitor_links(customer) -> list[CustomerCompetitor]:
    return _of(customer, _COMPETITORS.objects(customer=customer.pk))


def target_products(segment_id: int) -> list[Product]:
    """The segment's target products with their line (segment.target_products)."""
    return _TARGETS.objects(segment=segment_id)


def product_statuses(customer) -> list[CustomerProduct]:
    """The customer's recorded product statuses, with product and line."""
    return _of(customer, _STATUSES.objects(customer=customer.pk))


