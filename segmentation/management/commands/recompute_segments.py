from datetime import date

from django.core.management.base import BaseCommand, CommandError

from crm_project.dates import business_today
from segmentation import services


class Command(BaseCommand):
    help = "Classify every customer (lifecycle, ABC, XYZ, RFM) as of a date and store the snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD; default today")

    def handle(self, *args, as_of: date | None, **options):
        as_of = as_of or business_today()
        try:
            run = services.segments_recompute(as_of=as_of, triggered_by="command")
        except services.FutureDate as error:
            raise CommandError(str(error)) from error
        except services.LockHeld as error:
            raise CommandError("Another recompute is running; try again when it has finished.") from error
        self.stdout.write(
            f"Classified {run.customers} customers as of {as_of} from {run.lines} ledger lines "
            f"in {run.seconds:.1f} s; {run.class_changes} changed class or status since the previous snapshot."
        )
