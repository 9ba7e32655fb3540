import csv

from django.core.management.base import BaseCommand

from complaints import selectors
from crm_project.exports import escape_cell


class Command(BaseCommand):
    help = "Write every complaint to FILE as CSV: id, customer, product, kind, step, owner, deadline, response."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        rows = selectors.complaint_export_rows()
        count = 0
        with open(file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(selectors.EXPORT_COLUMNS)
            for row in rows:
                writer.writerow(["" if cell is None else escape_cell(cell) for cell in row])
                count += 1
        self.stdout.write(f"{count} complaints written to {file}.")
