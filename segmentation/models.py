from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm_project.prepared import Prepared
from customers.access import customer_scope

from .classification import ClassificationParams


class ClassificationSettings(models.Model):
    """The parameters of domain.md section 4, edited in admin. One row (pk=1)."""

    class Basis(models.TextChoices):
        REVENUE = "revenue", _("Net revenue")
        MARGIN = "margin", _("Margin (revenue − cost)")

    window_months = models.PositiveSmallIntegerField(_("analysis window W (months)"), default=12)
    period_months = models.PositiveSmallIntegerField(_("lifecycle period P (months)"), default=3)
    abc_basis = models.CharField(_("ABC basis"), max_length=10, choices=Basis.choices, default=Basis.REVENUE)
    abc_a = models.DecimalField(_("A below cumulative share"), max_digits=4, decimal_places=3, default=Decimal("0.500"))
    abc_b = models.DecimalField(_("B below cumulative share"), max_digits=4, decimal_places=3, default=Decimal("0.800"))
    xyz_bucket_months = models.PositiveSmallIntegerField(
        _("XYZ bucket (months)"), choices=[(1, _("1 month")), (3, _("3 months"))], default=1
    )
    xyz_x = models.DecimalField(_("X up to CoV"), max_digits=4, decimal_places=3, default=Decimal("0.100"))
    xyz_y = models.DecimalField(_("Y up to CoV"), max_digits=4, decimal_places=3, default=Decimal("0.250"))
    # The control point "contact interval exceeded" (domain.md section 5), per ABC class:
    # an assigned customer of that class not contacted for longer is due. Empty: no check.
    contact_days_a = models.PositiveSmallIntegerField(
        _("contact interval, class A (days)"), null=True, blank=True, default=30, help_text=_("Empty: not checked.")
    )
    contact_days_b = models.PositiveSmallIntegerField(
        _("contact interval, class B (days)"), null=True, blank=True, default=60, help_text=_("Empty: not checked.")
    )
    contact_days_c = models.PositiveSmallIntegerField(
        _("contact interval, class C (days)"), null=True, blank=True, default=90, help_text=_("Empty: not checked.")
    )

    class Meta:
        verbose_name = verbose_name_plural = _("classification settings")

    def __str__(self) -> str:
        return gettext("Classification settings")

    def clean(self):
        if not Decimal(0) < self.abc_a < self.abc_b <= Decimal(1):
            raise ValidationError(_("ABC thresholds must satisfy 0 < A < B ≤ 1."))
        if not Decimal(0) < self.xyz_x < self.xyz_y:
            raise ValidationError(_("XYZ thresholds must satisfy 0 < X < Y."))
        if self.window_months % self.xyz_bucket_months:
            raise ValidationError(_("The window must be a whole number of XYZ buckets."))

    @classmethod
    def current(cls) -> "ClassificationSettings":
        return cls.objects.get_or_create(pk=1)[0]

    @classmethod
    def read(cls) -> "ClassificationSettings":
        """The settings for a page to show: the saved row, else the defaults unsaved (a GET
        writes nothing, SEC-03; the recompute's current() saves them)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def contact_intervals(self) -> dict[str, int]:
        """{ABC class: days} of the classes whose contact interval is checked; customers
        without a class are never checked."""
        days = {"A": self.contact_days_a, "B": self.contact_days_b, "C": self.contact_days_c}
        return {abc: n for abc, n in days.items() if n}

    def as_params(self) -> ClassificationParams:
        return ClassificationParams(
            window_months=self.window_months,
            period_months=self.period_months,
            abc_basis=self.abc_basis,
            abc_a=self.abc_a,
            abc_b=self.abc_b,
            xyz_bucket_months=self.xyz_bucket_months,
            xyz_x=self.xyz_x,
            xyz_y=self.xyz_y,
        )


class SnapshotQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer_scope(user, prefix="customer__"))

    def latest_date(self, today=None):
        """The as-of date of the newest successful recompute on or before the business
        today (the customers' current classes): a run dated in the future never counts."""
        from crm_project.dates import business_today

        rows = _LATEST_DATE.rows(today=today or business_today())
        return rows[0]["as_of"] if rows else None

    def latest_date_query(self, today=None):
        """latest_date as a one-row queryset of as_of, to use as a subquery."""
        from crm_project.dates import business_today

        return (
            RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE, as_of__lte=today or business_today())
            .order_by("-as_of")
            .values_list("as_of", flat=True)[:1]
        )


# latest_date_query compiled once (crm_project.prepared): every customer list asks it (issue 15)
_LATEST_DATE = Prepared(lambda *, today: CustomerSnapshot.objects.latest_date_query(today), today=models.DateField())


class CustomerSnapshot(models.Model):
    """A customer's classes and figures as of one date; one row per customer per run date."""

    class Status(models.TextChoices):
        # Spelled out: the functional form took the codes for names and stored the labels.
        POTENTIAL = "potential", _("Potential")
        NEW = "new", _("New")
        REGULAR = "regular", _("Regular")
        RESTORED = "restored", _("Restored")
        LOST = "lost", _("Lost")

    class Segment(models.TextChoices):
        # Spelled out: "VIP" is an acronym, not a capitalised word.
        NEWCOMER = "newcomer", _("Newcomer")
        ONE_TIME = "one-time", _("One-time")
        VIP = "vip", _("VIP")
        GROWING = "growing", _("Growing")
        SLEEPING = "sleeping", _("Sleeping")

    # Both lean on purpose, the nightly write is 40,000 rows: as_of is served by the unique
    # (as_of, customer) index, and the customer key is not checked by the database, whose
    # check per row share-locks every customer row at commit (0.3 s of a 1 s write). The
    # rows are derived, all from customers the recompute just read; deleting a customer
    # still deletes its snapshots (Django's CASCADE).
    as_of = models.DateField(_("as of"))
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="snapshots",
        verbose_name=_("customer"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    abc = models.CharField(_("ABC"), max_length=1, blank=True)
    xyz = models.CharField(_("XYZ"), max_length=1, blank=True)
    value = models.DecimalField(_("ABC value"), max_digits=20, decimal_places=4, null=True)
    cov = models.FloatField(_("CoV"), null=True)
    recency = models.IntegerField(_("recency"), null=True)
    frequency = models.IntegerField(_("frequency"), null=True)
    monetary = models.DecimalField(_("monetary"), max_digits=20, decimal_places=4, null=True)
    r = models.PositiveSmallIntegerField(pgettext_lazy("RFM score", "R"), null=True)
    f = models.PositiveSmallIntegerField(pgettext_lazy("RFM score", "F"), null=True)
    m = models.PositiveSmallIntegerField(pgettext_lazy("RFM score", "M"), null=True)
    rfm_segment = models.CharField(_("activity segment"), max_length=10, choices=Segment.choices, blank=True)
    cooperation_days = models.IntegerField(_("cooperation days"), null=True)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer snapshot")
        ordering = ["-as_of", "customer"]
        constraints = [models.UniqueConstraint(fields=["as_of", "customer"], name="one_snapshot_per_customer_and_date")]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.as_of}: {self.status} {self.abc}{self.xyz}"


# A lifecycle status's label by its code (lazy: read in the reader's language).
STATUS_LABELS = dict(CustomerSnapshot.Status.choices)


class SnapshotCount(models.Model):
    """The full snapshots' rows counted per date, customer's current manager and classes
    (status, ABC, XYZ, activity segment, R and F scores), with their ABC values summed:
    the class overview and the lifecycle page sum a few of these rows for a user's
    managers instead of grouping the user's whole base per request (issue 15).

    Kept by database triggers (migration 0006) in the statement that writes snapshots or
    reassigns a customer, whoever writes them: the recompute's COPY, its delete of a
    date, the retention's prune, a deleted customer's snapshots. 0 stands for no manager
    (the pool) and for no R or F score. Money in exact integers of 1/10,000."""

    as_of = models.DateField(_("as of"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    status = models.CharField(_("status"), max_length=10, choices=CustomerSnapshot.Status.choices)
    abc = models.CharField(_("ABC"), max_length=1, blank=True)
    xyz = models.CharField(_("XYZ"), max_length=1, blank=True)
    rfm_segment = models.CharField(
        _("activity segment"), max_length=10, choices=CustomerSnapshot.Segment.choices, blank=True
    )
    r = models.PositiveSmallIntegerField(pgettext_lazy("RFM score", "R"))
    f = models.PositiveSmallIntegerField(pgettext_lazy("RFM score", "F"))
    customers = models.PositiveIntegerField(
        _("customers"), help_text=_("Snapshot rows; the row goes when it reaches 0.")
    )
    valued = models.PositiveIntegerField(_("valued"), help_text=_("Rows with an ABC value."))
    value_units = models.BigIntegerField(_("value units"), help_text=_("Sum of their ABC values, in 1/10,000."))

    class Meta:
        verbose_name = _("snapshot count")
        constraints = [
            models.UniqueConstraint(
                fields=["as_of", "manager", "status", "abc", "xyz", "rfm_segment", "r", "f"], name="one_snapshot_count"
            )
        ]

    def __str__(self) -> str:
        return f"{self.as_of} manager {self.manager_id}: {self.customers} {self.status} {self.abc}{self.xyz}"


# What a run stores in `step` (codes, compared and kept as they are), and what a person reads.
RUN_STEPS = {
    "starting": pgettext_lazy("recompute step", "starting"),
    "1/3 summing the ledger": _("1/3 summing the ledger"),
    "2/3 classifying": _("2/3 classifying"),
    "3/3 saving the snapshot": _("3/3 saving the snapshot"),
    "done": pgettext_lazy("recompute step", "done"),
}
# The error stored on a run a killed worker left running (services.segments_recompute);
# shown translated, kept in English in the database as the other errors.
RUN_ABANDONED = gettext_noop(
    "Stopped before it finished (its worker ended); that date's snapshot was left as it was. Run it again."
)


class RecomputeRun(models.Model):
    """One run of the classification for one as-of date: what the browser shows as
    progress and what the nightly job leaves behind. Unique per date: a rerun reuses it."""

    class Status(models.TextChoices):
        RUNNING = "running", pgettext_lazy("recompute status", "Running")
        DONE = "done", pgettext_lazy("recompute status", "Done")
        FAILED = "failed", pgettext_lazy("recompute status", "Failed")

    as_of = models.DateField(_("as of"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    step = models.CharField(_("step"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    lines = models.PositiveBigIntegerField(_("lines"), default=0)
    class_changes = models.PositiveIntegerField(_("class changes"), default=0)
    lines_without_cost = models.PositiveBigIntegerField(
        _("window lines without a cost"),
        null=True,
        blank=True,
        help_text=_("With ABC on margin: lines in the window whose margin counts as their whole amount."),
    )
    error = models.TextField(_("error"), blank=True)
    triggered_by = models.CharField(_("triggered by"), max_length=100, blank=True)
    # ContactDue holds this run's classes (contact_due.contact_due_fill): the contact
    # interval reads it only while this run is the current one; at most one run is marked.
    contact_due_filled = models.BooleanField(_("contact due filled"), default=False, editable=False)

    class Meta:
        verbose_name = _("recompute run")
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return gettext("Recompute %(date)s (%(status)s)") % {"date": self.as_of, "status": self.get_status_display()}

    @property
    def step_label(self) -> str:
        return RUN_STEPS.get(self.step, self.step)

    @property
    def error_text(self) -> str:
        """The error as a person reads it: the abandoned run's message translated."""
        return gettext(RUN_ABANDONED) if self.error == RUN_ABANDONED else self.error

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class ContactDue(models.Model):
    """What the control point "contact interval exceeded" needs per classed customer, so
    that it is an index range read per class instead of a scan of every customer joined
    with the current snapshot: the current ABC class (filled from the current snapshot by
    the nightly recompute, contact_due.contact_due_fill) and `since`, the last interaction
    or else the customer's creation, kept by triggers on the last interaction and on the
    customer's creation time (migration 0005) in the statement that writes them. The
    intervals themselves stay in ClassificationSettings, read with the page. Only
    customers with a class have a row; the manager is read from the customer, so a
    reassignment needs nothing here."""

    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.CASCADE,
        db_constraint=False,  # derived rows, as the snapshots: no key check share-locking customers
        primary_key=True,
        related_name="contact_due",
        verbose_name=_("customer"),
    )
    abc = models.CharField(_("ABC"), max_length=1)
    since = models.DateTimeField(_("since"))

    class Meta:
        verbose_name = _("contact due")
        indexes = [models.Index(fields=["abc", "since"], name="contact_due_class_since")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.abc} since {self.since:%Y-%m-%d %H:%M}"


# The end of an interval that is still open: a date, not NULL, so that "valid on D" is
# one range condition (valid_from <= D < valid_to) an index can serve.
OPEN_END = date(9999, 12, 31)


class ClassIntervalQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer_scope(user, prefix="customer__"))


class ClassInterval(models.Model):
    """A customer's lifecycle status, ABC, XYZ and activity segment while they stayed the
    same: what every recompute dated valid_from <= D < valid_to computed for the customer.
    Kept for ever, one row per change, so history grows with class changes, not with
    customers x days; the full CustomerSnapshot rows (figures included) are kept for a
    window and for month ends only (segmentation/retention.py). Written by the recompute,
    in the snapshot's transaction (segmentation/class_history.py); read through
    selectors.classes_as_of. A date no recompute finished for has no classes, even inside
    an interval: readers check the date against RecomputeRun."""

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="class_intervals",
        verbose_name=_("customer"),
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), default=OPEN_END)  # exclusive
    status = models.CharField(_("status"), max_length=10, choices=CustomerSnapshot.Status.choices)
    abc = models.CharField(_("ABC"), max_length=1, blank=True)
    xyz = models.CharField(_("XYZ"), max_length=1, blank=True)
    rfm_segment = models.CharField(
        _("activity segment"), max_length=10, choices=CustomerSnapshot.Segment.choices, blank=True
    )

    objects = ClassIntervalQuerySet.as_manager()

    class Meta:
        verbose_name = _("class interval")
        ordering = ["customer", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "valid_from"], name="one_class_interval_per_start"),
            models.CheckConstraint(
                condition=models.Q(valid_from__lt=models.F("valid_to")), name="class_interval_not_empty"
            ),
        ]
        # "Valid on D" for all customers: the intervals ending after D, those starting
        # on or before D among them.
        indexes = [
            models.Index(fields=["valid_to", "valid_from"], name="class_interval_valid"),
            # the customers whose classes changed between two computed dates (class_changes)
            models.Index(fields=["valid_from"], name="class_interval_start"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.valid_from}..{self.valid_to}: {self.status} {self.abc}{self.xyz}"
