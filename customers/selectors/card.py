"""The customer card's reads, compiled once per process and shape (crm_project.prepared).

The card asks a handful of small queries whose shape never changes from one customer to
the next: building and compiling them through the ORM cost more Python than the database
spends running them (issue 15). Each is the queryset the card built before, with the
customer's id as a Slot; whatever changes the SQL (the viewer's scope, the section probes
the viewer's permissions give) is part of the shape. The scope is in the SQL and runs on
every request, so a reassigned customer is out of it at once.
"""

from django.db.models import BooleanField, ExpressionWrapper, F, FilteredRelation, IntegerField, Q
from django.http import Http404
from django.utils.translation import gettext

from crm_project.prepared import Prepared
from customers.access import scope_key

from ..models import (
    Contact,
    Customer,
    CustomerCompetitor,
    CustomerProduct,
    Interaction,
    PlannedContact,
    PortraitEntry,
    Product,
)

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
        message = gettext("No %(verbose_name)s found matching the query")  # DetailView's words
        raise Http404(message % {"verbose_name": Customer._meta.verbose_name})
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
# A status's own columns, read on its product's row (its customer and product are known)
STATUS_COLUMNS = tuple(
    field.attname
    for field in CustomerProduct._meta.concrete_fields
    if field.attname not in ("customer_id", "product_id")
)


def _product_row(*, customer, segment):
    # the segment's targets and the products the customer has a status for, in one query:
    # those products (probed by key from the two short id lists: crm_project.lookups'
    # in_array, not a scan of the catalogue) left-joined to this customer's statuses
    targets = PortraitEntry.objects.filter(segment_id=segment).values("product_id")
    recorded = CustomerProduct.objects.filter(customer_id=customer).values("product_id")
    mine = FilteredRelation("customer_statuses", condition=Q(customer_statuses__customer_id=customer))
    return (
        Product.objects.annotate(mine=mine)
        .filter(Q(pk__in_array=targets) | Q(pk__in_array=recorded))
        .annotate(is_target=ExpressionWrapper(Q(pk__in_array=targets), output_field=BooleanField()))
        .annotate(**{f"mine_{name}": F(f"mine__{name}") for name in STATUS_COLUMNS})
        .select_related("line")
        .order_by("name", "sku", "pk")
    )


_PRODUCT_ROW = Prepared(_product_row, customer=IntegerField(), segment=IntegerField())


def product_row_parts(customer) -> tuple[list[Product], list[CustomerProduct]]:
    """The target products of the customer's segment with their line (as
    segment.target_products, by name and sku), and the customer's recorded statuses with
    product and line (as customer.product_statuses, by product), in one query."""
    products = _PRODUCT_ROW.objects(customer=customer.pk, segment=customer.segment_id)
    db, fields = CustomerProduct.objects.db, CustomerProduct._meta.concrete_fields
    names = [field.attname for field in fields]  # from_db takes the values in the fields' order
    statuses = []
    for product in sorted((p for p in products if p.mine_id is not None), key=lambda p: p.pk):
        known = {"customer_id": customer.pk, "product_id": product.pk}
        known.update((name, getattr(product, f"mine_{name}")) for name in STATUS_COLUMNS)
        status = CustomerProduct.from_db(db, names, [known[name] for name in names])
        status.product = product
        statuses.append(status)
    return [product for product in products if product.is_target], _of(customer, statuses)


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
