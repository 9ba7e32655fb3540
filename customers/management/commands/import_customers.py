"""python manage.py import_customers FILE [--dry-run] [--user USERNAME]"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers.customer_import import customer_import_run


def format_error(error: dict) -> str:
    if error.get("line") is None:
        return str(error["message"])
    if error.get("column") is None:
        return f"line {error['line']}: {error['message']}"
    return f"line {error['line']}, column {error['column']}: {error['message']}"


class Command(BaseCommand):
    help = (
        "Import customers and their contacts from a CSV (UTF-8, header row) or XLSX file, all or nothing: any "
        "bad row fails the whole file and every error is listed. Known external_refs are updated, not duplicated. "
        "Without --user the command acts as the system, with every customer in scope."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--user", help="import as this user, within their customers and permissions")

    def handle(self, *args, file: str, dry_run: bool, user: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        importer = None
        if user is not None:
            importer = get_user_model().objects.filter(username=user, is_active=True).first()
            if importer is None:
                raise CommandError(f"No active user {user!r}.")
        with path.open("rb") as handle:
            result = customer_import_run(file=handle, file_name=path.name, user=importer, dry_run=dry_run)
        if not result.ok:
            for error in result.errors:
                self.stderr.write(format_error(error))
            raise CommandError(f"Nothing was imported: {len(result.errors):,} errors, listed above.")
        verb = "would be " if dry_run else ""
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}{result.rows_total:,} rows read; customers: {result.created:,} {verb}"
            f"created, {result.updated:,} {verb}updated, {result.unchanged:,} unchanged; contacts: "
            f"{result.contacts_created:,} {verb}added, {result.contacts_updated:,} {verb}updated; "
            f"{result.seconds:.1f} seconds{'' if dry_run else f' (import {result.run_id})'}."
        )
        if result.ignored_columns:
            self.stdout.write(f"Columns ignored: {', '.join(result.ignored_columns)}")
