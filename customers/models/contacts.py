from django.db import models
from django.db.models.functions import ExtractDay, ExtractMonth


class Contact(models.Model):
    """A person at the customer we talk to."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    position = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    birthday = models.DateField(null=True, blank=True)
    is_primary = models.BooleanField("main contact", default=False)

    class Meta:
        ordering = ["-is_primary", "name"]
        indexes = [
            # the agenda's birthdays, as on Customer
            models.Index(
                ExtractMonth("birthday"),
                ExtractDay("birthday"),
                name="contact_birthday_md",
                condition=models.Q(birthday__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.position}" if self.position else self.name


class Competitor(models.Model):
    """A company that also supplies our customers (admin-edited directory)."""

    name = models.CharField(max_length=200, unique=True)
    strengths = models.TextField(blank=True)
    weaknesses = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerCompetitor(models.Model):
    """A competitor that supplies this customer, and with which product."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="competitor_links")
    competitor = models.ForeignKey(Competitor, on_delete=models.PROTECT, related_name="customer_links")
    product = models.ForeignKey(
        "customers.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="Our product they supply instead.",
    )
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["competitor__name"]

    def __str__(self) -> str:
        return f"{self.competitor} at {self.customer}"
