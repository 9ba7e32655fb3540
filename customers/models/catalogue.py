from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_project.history import HistoryActorName, LabelledHistoricalRecords

#
# Catalogue: product lines (directions of the business) and products
#


class ProductLine(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    line = models.ForeignKey(
        ProductLine, on_delete=models.PROTECT, null=True, blank=True, related_name="products", verbose_name=_("line")
    )
    is_active = models.BooleanField(_("is active"), default=True)
    standard_cost = models.DecimalField(
        _("standard cost"),
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Cost of one unit. Payments write it on their ledger lines, for ABC on margin."),
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "sku"]

    def __str__(self) -> str:
        return self.label(self.name, self.sku)

    @staticmethod
    def label(name: str, sku: str) -> str:
        """str() of a product with this name and SKU (for choices read as values)."""
        return f"{name} ({sku})" if name != sku else sku


#
# Target segments and the ideal portrait
#


class Segment(models.Model):
    """A target segment: customers whose from-birth attributes meet every rule. A customer
    falls into the first matching segment by priority (lowest number first)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("is active"), default=True)
    target_products = models.ManyToManyField(
        Product, through="PortraitEntry", related_name="target_segments", blank=True, verbose_name=_("target products")
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class SegmentRule(models.Model):
    """One condition: field operator value. All of a segment's rules must hold."""

    class Field(models.TextChoices):
        KIND = "kind", _("Kind (company/person)")
        INDUSTRY = "industry", _("Industry")
        ACTIVITY_TYPE = "activity_type", _("Activity type")
        HAS_BRANCHES = "has_branches", _("Has branches")
        EMPLOYEES = "employees", _("Company size (employees)")
        CLIENT_TYPE = "client_type", _("Main client type")
        YEAR_FOUNDED = "year_founded", _("Year founded")
        CITY = "city", _("City")

    class Operator(models.TextChoices):
        EQ = "eq", _("equals")
        NE = "ne", _("does not equal")
        GT = "gt", _("greater than")
        GTE = "gte", _("at least")
        LT = "lt", _("less than")
        LTE = "lte", _("at most")
        CONTAINS = "contains", _("contains")
        IN = "in", _("is one of (comma-separated)")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="rules", verbose_name=_("segment"))
    field = models.CharField(_("field"), max_length=20, choices=Field.choices)
    operator = models.CharField(_("operator"), max_length=10, choices=Operator.choices, default=Operator.EQ)
    value = models.CharField(_("value"), max_length=200)

    class Meta:
        verbose_name = _("segment rule")
        verbose_name_plural = _("segment rules")
        ordering = ["segment", "id"]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_operator_display()} {self.value}"


class PortraitEntry(models.Model):
    """A mark in the portrait matrix: `product` is a target product for `segment`."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="portrait_entries", verbose_name=_("segment")
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="portrait_entries", verbose_name=_("product")
    )

    class Meta:
        verbose_name = _("portrait entry")
        verbose_name_plural = _("portrait entries")
        constraints = [models.UniqueConstraint(fields=["segment", "product"], name="one_mark_per_segment_product")]

    def __str__(self) -> str:
        return f"{self.segment}: {self.product}"


class CustomerProduct(models.Model):
    """Where a customer stands with one product: set by hand, by deals and by settlements."""

    class Status(models.TextChoices):
        NOT_OFFERED = "not_offered", _("Not offered")
        OFFERED = "offered", _("Offered")
        REFUSED = "refused", _("Refused")
        CONTRACT = "contract", _("Contract signed")
        IN_USE = "in_use", _("In use")

    # No single-column indexes: the unique (customer, product) and the (product, status)
    # indexes lead with them and serve every lookup; each index costs a settlement import
    # one insertion per status (900,000 for a million new lines, bench/README.md).
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="product_statuses",
        db_index=False,
        verbose_name=_("customer"),
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="customer_statuses", db_index=False, verbose_name=_("product")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NOT_OFFERED)
    status_date = models.DateField(_("status date"), null=True, blank=True)
    refusal_reason = models.CharField(_("refusal reason"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The history is read per status (admin: by id, by date); nothing asks it by customer or product.
    history = LabelledHistoricalRecords(
        verbose_name=_("historical customer product"),
        verbose_name_plural=_("historical customer products"),
        excluded_fields=["updated_at"],
        no_db_index=["customer", "product"],
        bases=[HistoryActorName],
    )

    class Meta:
        verbose_name = _("customer product")
        verbose_name_plural = _("customer products")
        constraints = [models.UniqueConstraint(fields=["customer", "product"], name="one_status_per_customer_product")]
        indexes = [models.Index(fields=["product", "status"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.product_id}: {self.status}"
