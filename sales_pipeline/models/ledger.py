"""The settlement ledger's models: every money movement with a customer (SettlementLine),
its per-customer-day sums kept by triggers (SettlementDay), and import runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.access import customer_scope

# Ledger money keeps four decimals: real price lists have sub-penny unit prices, and
# classification sums these exactly as integers of 1/10,000 (see segmentation.selectors).
MONEY_DIGITS, MONEY_PLACES = 18, 4


class SettlementLineQuerySet(models.QuerySet):
    def visible_to(self, user):
        # The lines of the customers the user sees, as a semi-join (customer IN (...)): the
        # same scope written on the joined customer made PostgreSQL walk the 4M-line date
        # index testing every line against a scan of the customers (28 s for a manager's
        # first page at 50,000 customers; issue 15).
        from customers.models import Customer

        scope = customer_scope(user)
        if scope == Q():  # sees everything
            return self.all()
        return self.filter(customer_id__in=Customer.objects.filter(scope).values("pk"))


class SettlementLine(models.Model):
    """One money movement with a customer; returns and refunds are negative lines.

    Written by payments and by imports; read by segmentation and reporting."""

    date = models.DateField(verbose_name=_("date"))
    # No separate index: (customer, date) below serves customer lookups; every index costs the import.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="settlements",
        db_index=False,
    )
    product = models.ForeignKey(
        "customers.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
    )
    quantity = models.DecimalField(verbose_name=_("quantity"), max_digits=14, decimal_places=3, default=1)
    amount = models.DecimalField(verbose_name=_("amount"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    cost = models.DecimalField(
        verbose_name=_("cost"), max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True
    )
    # Indexed only where set (Meta): most imported lines have no manager.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="settlements",
        db_index=False,
    )
    document = models.CharField(verbose_name=_("document"), max_length=64, blank=True)
    # Identifies the line in its source (an import file: "date:hash"; a payment:
    # "payment:id:line"), so that loading the same source twice does not double the ledger.
    source_key = models.CharField(verbose_name=_("source key"), max_length=64)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    objects = SettlementLineQuerySet.as_manager()

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["-date", "-id"]
        indexes = [
            # the settlement list: newest first, date ranges
            models.Index(fields=["date", "customer"], name="settlement_date_customer"),
            models.Index(fields=["customer", "date"], name="settlement_customer_date"),
            models.Index(fields=["manager"], condition=models.Q(manager__isnull=False), name="settlement_manager"),
        ]
        # A constraint rather than unique=True: PostgreSQL then builds no extra LIKE index.
        constraints = [models.UniqueConstraint(fields=["source_key"], name="settlement_source_key_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.customer_id} {self.amount}"


class SettlementDay(models.Model):
    """The ledger summed per customer and day, so that the nightly classification reads
    one row per customer-day instead of every line (about a tenth as many rows on the
    bench's ledgers, bench/README.md).

    Kept by database triggers on SettlementLine (migration 0005) inside the very
    statement that inserts, updates, deletes or truncates lines, whoever writes them:
    payments, COPY imports, admin, raw SQL. The application writes it only where the
    SQLite import stands in for the row trigger with one statement per batch; ledger_days
    does that, checks the table against the ledger and rebuilds it. Money is in exact
    integers of 1/10,000, as the classification reads it."""

    pk = models.CompositePrimaryKey("customer", "date")
    # No database foreign key: every row comes from ledger lines, whose own key already
    # checks the customer, and a second check per row would only slow the import.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the primary key (customer, date) serves customer lookups
        related_name="settlement_days",
    )
    date = models.DateField(verbose_name=_("date"))
    amount = models.BigIntegerField(verbose_name=_("amount"), help_text=_("Sum of the day's amounts, in 1/10,000."))
    cost = models.BigIntegerField(
        verbose_name=_("cost"), help_text=_("Sum of the day's costs, in 1/10,000 (lines without a cost add 0).")
    )
    lines = models.PositiveIntegerField(
        verbose_name=_("lines"), help_text=_("Ledger lines that day; the row goes when it reaches 0.")
    )
    positive_lines = models.PositiveIntegerField(
        verbose_name=_("positive lines"), help_text=_("Lines with a positive amount (purchases).")
    )

    class Meta:
        verbose_name = _("settlement day")
        verbose_name_plural = _("settlement days")
        ordering = ["customer", "date"]

    def __str__(self) -> str:
        return f"{self.date} {self.customer_id}: {self.lines} lines"


class FirstPurchases(models.Model):
    """Each customer's first and second distinct days with a purchase (a day row with a
    positive line), for the second-purchase nudge: the first two such days up to any date
    D are these two where they fall on or before D, so one row per customer serves every
    D, where the page summed the whole day table per request (issue 15).

    Kept by database triggers on SettlementDay (migration 0015), which recompute a
    customer's row from its day rows when a day on or before its second purchase gains,
    loses or changes a purchase; whoever writes the day table (its own triggers, the
    SQLite import, settlement_days_rebuild) keeps this one exact."""

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # derived from day rows, whose lines' key checks the customer
        primary_key=True,
        related_name="first_purchases",
    )
    first_date = models.DateField(verbose_name=_("first date"))
    second_date = models.DateField(verbose_name=_("second date"), null=True)
    gap_days = models.IntegerField(
        verbose_name=_("gap days"), null=True, help_text=_("Days from the first purchase to the second.")
    )

    class Meta:
        verbose_name = _("first purchases")
        verbose_name_plural = _("first purchases")
        indexes = [
            # the due customers: a range of first days
            models.Index(fields=["first_date"], name="first_purchase_first"),
            # the median gap: the middle entries of the repeat buyers in gap order
            models.Index(fields=["gap_days", "second_date"], name="first_purchase_gap"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.first_date}, {self.second_date}"


class SettlementImport(models.Model):
    """One run of the settlement import: progress for the browser, errors for the user."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("import status", "Pending")
        RUNNING = "running", pgettext_lazy("import status", "Running")
        DONE = "done", pgettext_lazy("import status", "Done")
        FAILED = "failed", pgettext_lazy("import status", "Failed")

    file_name = models.CharField(verbose_name=_("file name"), max_length=255)
    file = models.FileField(verbose_name=_("file"), upload_to="imports/settlements/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True
    )
    create_missing = models.BooleanField(verbose_name=_("create missing"), default=False)
    dry_run = models.BooleanField(verbose_name=_("dry run"), default=False)
    status = models.CharField(verbose_name=_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(verbose_name=_("rows total"), default=0)
    rows_done = models.PositiveIntegerField(verbose_name=_("rows done"), default=0)
    lines_created = models.PositiveIntegerField(verbose_name=_("lines created"), default=0)
    lines_skipped = models.PositiveIntegerField(
        verbose_name=_("lines skipped"), default=0, help_text=_("Already in the ledger from an earlier import.")
    )
    customers_created = models.PositiveIntegerField(verbose_name=_("customers created"), default=0)
    products_created = models.PositiveIntegerField(verbose_name=_("products created"), default=0)
    errors = models.JSONField(verbose_name=_("errors"), default=list, blank=True)
    started_at = models.DateTimeField(verbose_name=_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("settlement import")
        verbose_name_plural = _("settlement imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0
