"""python manage.py check_settlement_days [--rebuild]"""

from django.core.management.base import BaseCommand, CommandError

from sales_pipeline.ledger_days import settlement_days_drift, settlement_days_rebuild


class Command(BaseCommand):
    help = (
        "Check that the ledger's day table (what the nightly classification reads) equals the ledger "
        "summed per customer and day; --rebuild recomputes it from the ledger."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute the day table from the ledger first")

    def handle(self, *args, rebuild=False, **options):
        if rebuild:
            rows = settlement_days_rebuild()
            self.stdout.write(f"Rebuilt the day table from the ledger: {rows:,} customer-days.")
        drift = settlement_days_drift()
        if drift:
            for row in drift:
                self.stderr.write(
                    f"customer {row['customer_id']}, {row['date']}: table {row['in_table']}, "
                    f"ledger {row['in_ledger']} (amount, cost, lines, positive lines; money in 1/10,000)"
                )
            raise CommandError("The day table differs from the ledger; run with --rebuild to recompute it.")
        self.stdout.write(self.style.SUCCESS("The day table equals the ledger summed per customer and day."))
