import csv

from django.core.management.base import BaseCommand

from crm_project.exports import escape_cell
from loyalty.models import Card


class Command(BaseCommand):
    help = (
        "Write every loyalty card to a CSV file: card, customer (external reference), program, tier, status, balance."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write the CSV (UTF-8).")

    def handle(self, *args, file, **options):
        rows = (
            Card.objects.order_by("number")
            .values_list("number", "holder__external_ref", "program__name", "tier__name", "status", "balance")
            .iterator(chunk_size=5000)
        )
        count = 0
        with open(file, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["card", "customer", "program", "tier", "status", "balance"])
            for number, ref, program, tier, status, balance in rows:
                # Names and references a spreadsheet would run as formulas are escaped.
                cells = (number, ref or "", program, tier or "", status, balance)
                writer.writerow([escape_cell(cell) for cell in cells])
                count += 1
        self.stdout.write(f"{count} cards written to {file}")
