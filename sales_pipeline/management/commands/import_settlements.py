"""python manage.py import_settlements FILE [--create-missing] [--dry-run]"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sales_pipeline.models import SettlementImport
from sales_pipeline.services.imports import settlement_import_run


def format_error(error: dict) -> str:
    if error.get("line") is None:
        return str(error["message"])
    if error.get("column") is None:
        return f"line {error['line']}: {error['message']}"
    return f"line {error['line']}, column {error['column']}: {error['message']}"


class ConsoleBar:
    """A carriage-return progress bar on a terminal; elsewhere (logs, pipes) one line per
    phase and per chunk written."""

    WIDTH = 30

    def __init__(self, stream, *, enabled: bool = True):
        # `stream` is a command's OutputWrapper: write(text, ending=...), isatty(), flush().
        self.stream, self.enabled = stream, enabled
        self.tty = stream.isatty()
        self.phase, self.shown, self.open = None, None, False

    def __call__(self, done: int, total: int, phase: str) -> None:
        if not self.enabled:
            return
        if phase != self.phase:
            self.end()
            self.phase = phase
            self.stream.write(f"{phase.capitalize()}{f' {total:,} lines' if total else ''}…")
        if phase != "writing" or not total:
            return
        percent = int(100 * done / total)
        if percent == self.shown:
            return
        self.shown = percent
        if not self.tty:
            self.stream.write(f"  {done:,}/{total:,} lines ({percent}%)")
            return
        filled = int(self.WIDTH * done / total)
        self.open = True
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {percent:3d}% {done:,}/{total:,}", ending="")
        self.stream.flush()

    def end(self) -> None:
        if self.open:
            self.stream.write("")
        self.open, self.shown = False, None


class Command(BaseCommand):
    help = (
        "Import settlement lines from a CSV (UTF-8, header row) or XLSX file with the columns customer, "
        "date, product, amount and optionally quantity, cost, manager, document, product_line. All or "
        "nothing: any bad row fails the whole file, and every error is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument(
            "--create-missing", action="store_true", help="create unknown customers and products from their references"
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")

    def handle(self, *args, file: str, create_missing: bool, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        run = SettlementImport.objects.create(file_name=path.name[:255], create_missing=create_missing, dry_run=dry_run)
        bar = ConsoleBar(self.stderr, enabled=options["verbosity"] > 0)
        started = time.monotonic()
        # No user: a command acts as the system, with every customer in scope.
        run = settlement_import_run(run=run, path=path, user=None, progress=bar)
        bar.end()
        seconds = time.monotonic() - started
        if run.status == SettlementImport.Status.FAILED:
            for error in run.errors:
                self.stderr.write(format_error(error))
            raise CommandError(f"Nothing was imported (import #{run.pk}); the errors are listed above.")
        verb = "would be " if dry_run else ""
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}{run.rows_total:,} lines read; "
            f"{run.lines_created:,} lines {verb}created, {run.lines_skipped:,} skipped (already in the ledger); "
            f"{run.customers_created:,} customers and {run.products_created:,} products {verb}created; "
            f"{seconds:.1f} seconds (import #{run.pk})."
        )
