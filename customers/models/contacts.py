from django.db import models
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils.translation import gettext_lazy as _


class Contact(models.Model):
    """A person at the customer we talk to."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.CharField(_("position"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    is_primary = models.BooleanField(_("main contact"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
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

    name = models.CharField(_("name"), max_length=200, unique=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)

    class Meta:
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerCompetitor(models.Model):
    """A competitor that supplies this customer, and with which product."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="competitor_links", verbose_name=_("customer")
    )
    competitor = models.ForeignKey(
        Competitor, on_delete=models.PROTECT, related_name="customer_links", verbose_name=_("competitor")
    )
    product = models.ForeignKey(
        "customers.Product",
        verbose_name=_("product"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("Our product they supply instead."),
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("customer competitor")
        verbose_name_plural = _("customer competitors")
        ordering = ["competitor__name"]

    def __str__(self) -> str:
        return f"{self.competitor} at {self.customer}"
