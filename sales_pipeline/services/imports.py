"""Running a settlement import: the file checked (sales_pipeline.settlement_import), the
missing customers and products created, the lines written through services.ledger, all
or nothing, with progress for the browser."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm_project import locks
from crm_project.history import bulk_create_with_history_rows
from crm_project.imports import in_chunks
from crm_project.queue import QueueUnavailable
from crm_project.spreadsheets import file_error
from customers.models import Customer, Product, ProductLine, normalize_name
from customers.segment_rules import active_segments, segment_for

from ..models import SettlementImport, SettlementLine
from ..settlement_import import Checked, FileRejected, Known, Wanted, check_settlements, ids_of, read_settlement_file
from . import ledger

logger = logging.getLogger(__name__)

PROGRESS_CACHE_SECONDS = 24 * 60 * 60
IMPORT_LOCK = "sales_pipeline.settlement_import"
# A running import holds the lock (RUN_LOCK, its id) from before it says 'running' until
# after it says how it ended: a free lock on a 'running' run means its process is gone.
RUN_LOCK = "sales_pipeline.settlement_import_run"
ABANDONED = _("The import stopped before it finished (its worker ended); nothing was imported. Run it again.")

Progress = Callable[[int, int, str], None]

#
# Starting an import from the browser
#


def settlement_import_start(
    *, upload: UploadedFile, user, enqueue: Callable[[int], object], create_missing: bool = False,
    dry_run: bool = False,
) -> SettlementImport:
    """Store the uploaded file as a new pending run and hand its id to `enqueue` (the
    task's delay) once that row is committed. Called by the upload view; the task calls
    settlement_import_run."""
    run = SettlementImport.objects.create(
        file_name=Path(upload.name).name[:255],
        file=upload,
        created_by=user,
        create_missing=create_missing,
        dry_run=dry_run,
    )
    transaction.on_commit(lambda: _enqueue_or_withdraw(run, enqueue))
    return run


def _enqueue_or_withdraw(run: SettlementImport, enqueue: Callable[[int], object]) -> None:
    # A run the worker never hears of would wait forever: with the queue down the
    # upload is withdrawn (row and file) and the caller asks the user to try again.
    try:
        enqueue(run.pk)
    except QueueUnavailable:
        run.file.delete(save=False)
        run.delete()
        raise


#
# Running an import
#


def settlement_import_run(
    *, run: SettlementImport, path, user=None, progress: Progress | None = None
) -> SettlementImport:
    """Import the settlement file at `path` into the ledger, all or nothing, and record
    the outcome on `run`. Every row is checked first; any error fails the run with all
    errors listed and writes nothing at all. Otherwise missing customers/products (with
    run.create_missing) and the lines are written in one transaction; lines already in
    the ledger (same source key) are counted as skipped. A dry run only counts. `user`
    limits the customers that may be touched; None is the system (management command).
    Called by tasks.import_settlements_task and the import_settlements command."""
    with locks.held_while_running(RUN_LOCK, run.pk):
        ended = (SettlementImport.Status.DONE, SettlementImport.Status.FAILED)
        if SettlementImport.objects.filter(pk=run.pk, status__in=ended).exists():
            run.refresh_from_db()  # a second delivery of the task, which waited for the first
            return run
        return _run(run=run, path=path, user=user, progress=progress)


def abandoned_imports_close() -> int:
    """Mark failed every import still 'running' whose process has gone (a killed worker
    or web process: its transaction rolled back, so nothing of it was written); returns
    how many. PostgreSQL only: the run's lock tells. On SQLite, where imports run inside
    the request that started them, such a run keeps saying 'running'. Called by the
    import pages before they show runs."""
    closed = 0
    running = SettlementImport.objects.filter(status=SettlementImport.Status.RUNNING)
    for run_id in running.values_list("pk", flat=True):
        with locks.while_abandoned(RUN_LOCK, run_id) as abandoned:
            if abandoned:  # the status is read again under the lock: the run may have just ended
                closed += running.filter(pk=run_id).update(
                    status=SettlementImport.Status.FAILED,
                    finished_at=timezone.now(),
                    errors=[file_error(str(ABANDONED))],
                )
    return closed


def _run(*, run: SettlementImport, path, user, progress: Progress | None) -> SettlementImport:
    report = _Reporter(run, progress)
    _save(
        run,
        status=SettlementImport.Status.RUNNING,
        started_at=timezone.now(),
        finished_at=None,
        errors=[],
        rows_total=0,
        rows_done=0,
        lines_created=0,
        lines_skipped=0,
        customers_created=0,
        products_created=0,
    )
    report(0, 0, "checking")
    try:
        with report.stage("read file"):
            rows = read_settlement_file(path)
        with report.stage("check values"):
            checked = check_settlements(
                rows,
                time_zone=settings.TIME_ZONE,
                create_missing=run.create_missing,
                lookup=lambda wanted: _known(wanted, user),
                timings=report.stages,
            )
        del rows
        # The references and keys are timed inside the check: not counted twice.
        report.stages["check values"] -= report.stages.get("references", 0) + report.stages.get("source keys", 0)
        run.rows_total = checked.rows_total
        if checked.errors:
            return _finish(run, report, status=SettlementImport.Status.FAILED, errors=checked.errors)
        counts = _count_dry_run(checked, report) if run.dry_run else _write(checked, run=run, user=user, report=report)
    except FileRejected as exc:
        return _finish(run, report, status=SettlementImport.Status.FAILED, errors=[file_error(str(exc))])
    except IntegrityError:
        logger.exception("Settlement import %s collided with a concurrent change", run.pk)
        message = gettext("Customers or products changed while importing; nothing was imported. Run the import again.")
        return _finish(run, report, status=SettlementImport.Status.FAILED, errors=[file_error(message)])
    except Exception:
        # The run must never stay 'running'; the transaction has rolled back.
        logger.exception("Settlement import %s failed", run.pk)
        message = gettext("The import stopped on an unexpected error; nothing was imported.")
        return _finish(run, report, status=SettlementImport.Status.FAILED, errors=[file_error(message)])
    return _finish(run, report, status=SettlementImport.Status.DONE, rows_done=run.rows_total, **counts)


def _save(run: SettlementImport, **values) -> None:
    for name, value in values.items():
        setattr(run, name, value)
    run.save(update_fields=list(values))


def _finish(run: SettlementImport, report: _Reporter, *, status: str, **values) -> SettlementImport:
    _save(run, status=status, finished_at=timezone.now(), rows_total=run.rows_total, **values)
    cache.delete(progress_cache_key(run.pk))
    logger.info(
        "Settlement import %s %s: %s lines, %s created, %s skipped, %s errors; seconds %s",
        run.pk, status, run.rows_total, run.lines_created, run.lines_skipped, len(run.errors), report.timings(),
    )  # fmt: skip
    # Where the time went, stage by stage (bench/bench_import.py prints it).
    logger.info("Settlement import %s stages (s): %s", run.pk, {k: round(v, 2) for k, v in report.stages.items()})
    return run


#
# References: what the database already holds
#


def _pairs(queryset, field: str, values: Iterable[str], *columns: str) -> dict:
    found = {}
    for chunk in in_chunks(list(values)):
        found.update(queryset.filter(**{f"{field}__in": chunk}).values_list(*columns))
    return found


def _managers_of(customer_ids: pd.Series) -> pd.Series:
    """Each line's customer's assigned manager (<NA> for the pool): one query per chunk
    of distinct customers, mapped back by factorising, as ids_of does."""
    codes, uniques = pd.factorize(customer_ids)
    assigned = Customer.objects.filter(manager__isnull=False)
    managers = _pairs(assigned, "pk", [int(pk) for pk in uniques], "pk", "manager_id")
    ids = pd.array([managers.get(int(pk)) for pk in uniques], dtype="Int64")
    return pd.Series(ids.take(codes), index=customer_ids.index)


def _known(wanted: Wanted, user) -> Known:
    customers = _pairs(Customer.objects, "external_ref", wanted.customers, "external_ref", "id")
    permitted = None
    if user is not None:
        visible = _pairs(Customer.objects.visible_to(user), "external_ref", customers, "external_ref", "id")
        permitted = frozenset(visible)
    return Known(
        customers=customers,
        permitted=permitted,
        products=_pairs(Product.objects, "sku", wanted.products, "sku", "id"),
        product_lines=_pairs(ProductLine.objects, "name", wanted.product_lines, "name", "id"),
        users=_pairs(get_user_model().objects, "username", wanted.users, "username", "id"),
    )


#
# Writing
#


def _count_dry_run(checked: Checked, report: _Reporter) -> dict:
    report(0, checked.rows_total, "counting")
    keys = checked.lines["source_key"].tolist()
    existing = sum(
        SettlementLine.objects.filter(source_key__in=chunk).count() for chunk in in_chunks(keys)
    )
    return {
        "lines_created": len(keys) - existing,
        "lines_skipped": existing,
        "customers_created": len(checked.new_customers),
        "products_created": len(checked.new_products),
    }


def _write(checked: Checked, *, run: SettlementImport, user, report: _Reporter) -> dict:
    lines, checked.lines = checked.lines, None  # one copy in memory, not two
    total = len(lines)
    with transaction.atomic():
        # One import at a time: two files creating the same new customer must not race.
        if connection.vendor == "postgresql":
            report(0, total, "waiting for another import")
        locks.wait_in_transaction(IMPORT_LOCK)
        report(0, total, "creating customers and products")
        with report.stage("create products"):
            products_created, product_ids = _create_products(checked.new_products, checked.new_product_lines)
        with report.stage("create customers"):
            new_customers, customer_ids = _create_customers(checked.new_customers, run=run, user=user)
        with report.stage("prepare lines"):
            lines["customer_id"] = lines["customer_id"].fillna(ids_of(lines["customer"], customer_ids)).astype("int64")
            lines["product_id"] = lines["product_id"].fillna(ids_of(lines["product"], product_ids)).astype("int64")
            # A line without a manager counts for the customer's manager at import time (the
            # KPIs' line-based figures, issue 12); later reassignments do not move it.
            unmanaged = lines["manager_id"].isna()
            if unmanaged.any():
                lines.loc[unmanaged, "manager_id"] = _managers_of(lines.loc[unmanaged, "customer_id"])
            # Keys start with the date, so in key order each chunk is a run of days: it
            # touches one narrow slice of the key and date indexes, and each customer-day
            # of the day table once, instead of pages all over them (bench/README.md).
            lines = lines.sort_values("source_key", ignore_index=True)
        report(0, total, "writing")
        created = ledger.lines_insert(
            lines,
            progress=lambda done: report(done, total, "writing"),
            user=user,
            reason=f"Settlement import #{run.pk}",
            new_customers=new_customers,
        )
        report.stages.update(ledger.stage_seconds)
        report(total, total, "committing")
        commit_started = time.perf_counter()
    report.stages["commit"] = time.perf_counter() - commit_started
    return {
        "lines_created": created,
        "lines_skipped": total - created,
        "customers_created": len(new_customers),
        "products_created": products_created,
    }


def _create_products(new_products: dict[str, str], new_line_names: list[str]) -> tuple[int, dict[str, int]]:
    """Create the missing product lines and products; (products created, sku -> id)."""
    if not new_products:
        return 0, {}
    existing_lines = _pairs(ProductLine.objects, "name", new_line_names, "name", "id")
    ProductLine.objects.bulk_create(
        [ProductLine(name=name) for name in new_line_names if name not in existing_lines], batch_size=1_000
    )
    line_ids = _pairs(ProductLine.objects, "name", new_line_names, "name", "id")
    # Looked up again under the lock: an import that finished meanwhile may have made some.
    existing = _pairs(Product.objects, "sku", new_products, "sku", "id")
    missing = [
        Product(sku=sku, name=sku, line_id=line_ids.get(line_name))
        for sku, line_name in new_products.items()
        if sku not in existing
    ]
    Product.objects.bulk_create(missing, batch_size=1_000)
    return len(missing), _pairs(Product.objects, "sku", new_products, "sku", "id")


def _create_customers(refs: list[str], *, run: SettlementImport, user) -> tuple[set[int], dict[str, int]]:
    """Create customers for unknown references, in the unassigned pool and in the segment
    their (empty) profile falls in, each with its history row; (ids of the customers
    created, external_ref -> id)."""
    if not refs:
        return set(), {}
    existing = _pairs(Customer.objects, "external_ref", refs, "external_ref", "id")
    segments = active_segments()
    missing = []
    for ref in refs:
        if ref not in existing:
            customer = Customer(name=ref, external_ref=ref, normalized_name=normalize_name(ref))
            customer.segment = segment_for(customer, segments)
            missing.append(customer)
    created = bulk_create_with_history_rows(
        missing, Customer, user=user, change_reason=f"Created by settlement import #{run.pk}"
    )
    return {customer.pk for customer in created}, {**existing, **{c.external_ref: c.pk for c in created}}


#
# Progress, visible to other requests while the import transaction is open
#


def progress_cache_key(run_id: int) -> str:
    return f"sales_pipeline:settlement-import:{run_id}"


class _Reporter:
    """Progress goes to the cache, not the run row: the row's update would sit inside the
    import's transaction, invisible to the page polling it (and on SQLite would wait for
    the write lock). The final state is written to the row after commit."""

    def __init__(self, run: SettlementImport, callback: Progress | None):
        self.run, self.callback = run, callback
        self.phase, self.since, self.seconds = None, time.monotonic(), {}
        self.stages: dict[str, float] = {}  # finer than the phases, for the log only

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - started

    def __call__(self, done: int, total: int, phase: str) -> None:
        self._enter(phase)
        cache.set(
            progress_cache_key(self.run.pk),
            {"rows_done": done, "rows_total": total, "phase": phase},
            PROGRESS_CACHE_SECONDS,
        )
        if self.callback is not None:
            self.callback(done, total, phase)

    def _enter(self, phase: str) -> None:
        if phase != self.phase:
            now = time.monotonic()
            if self.phase:
                self.seconds[self.phase] = self.seconds.get(self.phase, 0) + now - self.since
            self.phase, self.since = phase, now

    def timings(self) -> dict[str, float]:
        """Seconds spent in each phase, for the log."""
        self._enter("")
        return {phase: round(seconds, 1) for phase, seconds in self.seconds.items()}


# What the progress line calls each phase (the codes stay in the cache and the log).
PHASE_LABELS = {"checking": _("Checking"), "writing": _("Writing")}


def settlement_import_live(run: SettlementImport) -> SettlementImport:
    """`run` with the progress of a running import filled in from the cache (not saved).
    Read by the run page and its htmx progress fragment."""
    run.phase = ""
    run.seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else None
    if run.status in (SettlementImport.Status.PENDING, SettlementImport.Status.RUNNING):
        live = cache.get(progress_cache_key(run.pk)) or {}
        run.rows_done = live.get("rows_done", run.rows_done)
        run.rows_total = live.get("rows_total", run.rows_total)
        run.phase = live.get("phase", "")
    run.phase_label = PHASE_LABELS.get(run.phase) or gettext("Working")
    return run
