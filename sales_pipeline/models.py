from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.access import customer_scope

# Ledger money keeps four decimals: real price lists have sub-penny unit prices, and
# classification sums these exactly as integers of 1/10,000 (see segmentation.selectors).
MONEY_DIGITS, MONEY_PLACES = 18, 4


class SettlementLineQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer_scope(user, prefix="customer__"))


class SettlementLine(models.Model):
    """One money movement with a customer; returns and refunds are negative lines.

    Written by payments and by imports; read by segmentation and reporting."""

    date = models.DateField()
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="settlements")
    product = models.ForeignKey("customers.Product", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="settlements")
    quantity = models.DecimalField(max_digits=14, decimal_places=3, default=1)
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    cost = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, null=True, blank=True)
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="settlements")
    document = models.CharField(max_length=64, blank=True)
    # Identifies the line in its source (an import file, a payment), so that loading the
    # same source twice does not double the ledger.
    source_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SettlementLineQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [
            # classification: per-customer aggregates over a date range
            models.Index(fields=["date", "customer"], name="settlement_date_customer"),
            models.Index(fields=["customer", "date"], name="settlement_customer_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.customer_id} {self.amount}"


class SettlementImport(models.Model):
    """One run of the settlement import: progress for the browser, errors for the user."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to="imports/settlements/", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    create_missing = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    lines_created = models.PositiveIntegerField(default=0)
    lines_skipped = models.PositiveIntegerField(default=0, help_text="Already in the ledger from an earlier import.")
    customers_created = models.PositiveIntegerField(default=0)
    products_created = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0
