import csv
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from crm_project.dates import business_today
from segmentation import services
from segmentation.exports import HEADER, segment_rows
from segmentation.models import RecomputeRun
from segmentation.selectors import classes_as_of


class Command(BaseCommand):
    help = "Write every customer's classes as of a date to a CSV file (computing that date first if needed)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD; default today")

    def handle(self, *args, file: str, as_of: date | None, **options):
        as_of = as_of or business_today()
        if not RecomputeRun.objects.filter(as_of=as_of, status=RecomputeRun.Status.DONE).exists():
            try:
                services.segments_recompute(as_of=as_of, triggered_by="export_segments")
            except services.LockHeld as error:
                raise CommandError("Another recompute is running; try again when it has finished.") from error
        count = 0
        with open(file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            for row in segment_rows(classes_as_of(as_of)):
                writer.writerow(row)
                count += 1
        self.stdout.write(f"Wrote {count} customers as of {as_of} to {file}.")
