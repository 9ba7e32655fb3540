from django.conf import settings
from django.db import models
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_project.history import HistoryActorName, LabelledHistoricalRecords
from crm_project.object_urls import object_url

from ..access import customer_scope


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user) -> "CustomerQuerySet":
        """The only way pages, exports, search and reports get customers: another
        manager's customer is simply not in the queryset, so it is a 404."""
        return self.filter(customer_scope(user))


class Customer(models.Model):
    """A company or a person we sell to, with the "from birth" attributes that place it
    in a target segment (domain.md section 2)."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        PERSON = "person", _("Person")

    class ActivityType(models.TextChoices):
        PRODUCTION = "production", _("Production")
        TRADE = "trade", _("Trade")
        SERVICES = "services", _("Services")
        EDUCATION = "education", _("Education")
        CATERING = "catering", _("Catering")
        PUBLIC = "public", _("Public sector")
        OTHER = "other", _("Other")

    class ClientType(models.TextChoices):
        B2B = "b2b", _("B2B")
        B2C = "b2c", _("B2C")

    class Channel(models.TextChoices):
        REFERRAL = "referral", _("Referral")
        WEBSITE = "website", _("Website")
        COLD_CALL = "cold_call", _("Cold call")
        EXHIBITION = "exhibition", _("Exhibition")
        ADVERTISING = "advertising", _("Advertising")
        PARTNER = "partner", _("Partner")
        OTHER = "other", _("Other")

    class Relationship(models.TextChoices):
        TRANSACTIONAL = "transactional", _("Transactional")
        LONG_TERM = "long_term", _("Long-term")
        PERSONAL = "personal", _("Personal assistance")
        DEDICATED = "dedicated", _("Dedicated account manager")
        SELF_SERVICE = "self_service", _("Self-service")
        AUTOMATED = "automated", _("Automated")
        COMMUNITY = "community", _("Community")

    class Psychotype(models.TextChoices):
        RELATIONSHIP_SEEKER = "seeker", _("Relationship seeker")
        LOYAL = "loyal", _("Loyal")
        EXPLOITER = "exploiter", _("Relationship exploiter")
        ONE_TIME = "one_time", _("One-time buyer")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    name = models.CharField(_("name"), max_length=200)
    # lower-case letters and digits only, for duplicate warnings ("ACME Ltd." ~ "acme ltd")
    normalized_name = models.CharField(_("normalized name"), max_length=200, editable=False, db_index=True, default="")
    external_ref = models.CharField(
        _("external reference"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The customer's id in the accounting system; imports match on it."),
    )
    tax_id = models.CharField(_("tax id"), max_length=32, blank=True, db_index=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        help_text=_("Empty: the customer is in the unassigned pool."),
    )
    # "from birth" attributes: known at first contact, they decide the segment
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    activity_type = models.CharField(_("activity type"), max_length=20, choices=ActivityType.choices, blank=True)
    has_branches = models.BooleanField(_("has branches"), default=False)
    employees = models.PositiveIntegerField(_("company size (employees)"), null=True, blank=True)
    client_type = models.CharField(_("main client type"), max_length=3, choices=ClientType.choices, blank=True)
    year_founded = models.PositiveSmallIntegerField(_("year founded"), null=True, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True, help_text=_("For a person."))
    city = models.CharField(_("city"), max_length=100, blank=True)
    # how we work with them
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True, db_index=True)
    acquisition_channel = models.CharField(_("acquisition channel"), max_length=20, choices=Channel.choices, blank=True)
    referred_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name=_("referred by"),
    )
    relationship_type = models.CharField(
        _("relationship type"), max_length=20, choices=Relationship.choices, blank=True
    )
    psychotype = models.CharField(_("buyer psychotype"), max_length=20, choices=Psychotype.choices, blank=True)
    segment = models.ForeignKey(
        "customers.Segment",
        verbose_name=_("segment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        help_text=_("Empty: non-target."),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # segment is derived from the from-birth fields (and reassigned in bulk), so not audited
    history = LabelledHistoricalRecords(
        verbose_name=_("historical customer"),
        verbose_name_plural=_("historical customers"),
        excluded_fields=["updated_at", "normalized_name", "segment"],
        bases=[HistoryActorName],
    )
    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        permissions = [
            ("view_all_customers", "Can see every team's customers"),
            ("import_customers", "Can import customers"),
        ]
        indexes = [
            # With the key: "the customers of these managers" (a deep deal-list page's
            # scope, DealQuerySet.visible_to_by_customer_keys) read from the index alone.
            models.Index(fields=["manager", "name"], name="customer_manager_name", include=["id"]),
            models.Index(fields=["segment", "name"]),
            # A director's or an administrator's list in name order, walked without sorting
            # every customer they see (issue 15); with the manager, a page's scope is
            # checked from the index alone (page 200: no heap visit for the rows skipped).
            models.Index(fields=["name", "id"], name="customer_name_id", include=["manager"]),
            # The list sorted by city or by creation date: its first page walks one of these,
            # where PostgreSQL sorted every customer the user sees (a director's 50,000:
            # 39 ms, spilled to disk) to show 25 (crm_project.pagination.walks_an_index).
            models.Index(fields=["city", "id"], name="customer_city_id"),
            models.Index(fields=["created_at", "id"], name="customer_created_id"),
            # The agenda's birthdays of the next two weeks (month and day, across years),
            # read without scanning every customer; only those with a birthday are indexed.
            models.Index(
                ExtractMonth("birthday"),
                ExtractDay("birthday"),
                name="customer_birthday_md",
                condition=models.Q(birthday__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The segment is the services' to set (customers.services.customer_save, the
        # imports, segment_rules.segments_assign): a save only keeps the name searchable.
        self.normalized_name = normalize_name(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "normalized_name"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return object_url("customers:customer_detail", self.pk)


LEGAL_FORMS = {"ltd", "limited", "plc", "llc", "inc", "gmbh", "sa", "co", "corp", "the"}


def normalize_name(name: str) -> str:
    """'The ACME Ltd.' -> 'acme': case, punctuation and legal forms do not make a new company."""
    words = "".join(ch if ch.isalnum() else " " for ch in name.lower()).split()
    return " ".join(word for word in words if word not in LEGAL_FORMS)
