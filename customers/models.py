from django.conf import settings
from django.db import models
from django.db.models import F, FilteredRelation, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .access import customer_scope


class SalesTeam(models.Model):
    """A department or branch. A manager belongs to one team; a director directs several."""

    name = models.CharField(max_length=100, unique=True)
    directors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="directed_teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """Puts a sales manager in exactly one team (the OneToOne makes 'one' a database rule)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership")
    team = models.ForeignKey(SalesTeam, on_delete=models.PROTECT, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CustomerQuerySet":
        """The only way pages, exports, search and reports get customers: another
        manager's customer is simply not in the queryset, so it is a 404."""
        return self.filter(customer_scope(user))

    def with_classes(self, as_of) -> "CustomerQuerySet":
        """Annotate each customer's lifecycle status, ABC, XYZ and activity segment from
        the snapshot of `as_of` (segmentation's current date), in the same query."""
        if as_of is None:
            empty = models.Value("", output_field=models.CharField())
            return self.annotate(lifecycle_status=empty, abc_class=empty, xyz_class=empty, activity_segment=empty)
        return self.annotate(
            current=FilteredRelation("snapshots", condition=Q(snapshots__as_of=as_of)),
            lifecycle_status=F("current__status"),
            abc_class=F("current__abc"),
            xyz_class=F("current__xyz"),
            activity_segment=F("current__rfm_segment"),
        )


class Customer(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", "Company"
        PERSON = "person", "Person"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(max_length=200)
    external_ref = models.CharField(
        "external reference",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The customer's id in the accounting system; imports match on it.",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        help_text="Empty: the customer is in the unassigned pool.",
    )
    industry = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        permissions = [("view_all_customers", "Can see every team's customers")]
        indexes = [models.Index(fields=["manager", "name"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:customer_detail", args=[self.pk])


#
# Catalogue: product lines (directions of the business) and products
#


class ProductLine(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    line = models.ForeignKey(ProductLine, on_delete=models.PROTECT, null=True, blank=True, related_name="products")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "sku"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})" if self.name != self.sku else self.sku
