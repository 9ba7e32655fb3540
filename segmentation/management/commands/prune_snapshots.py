from django.core.management.base import BaseCommand, CommandError

from crm_project.dates import business_today
from segmentation import services


class Command(BaseCommand):
    help = (
        "Delete the full classification snapshots older than the retention window that are not a month's last "
        "computed date (what the nightly job does after its recompute). The classes of every date stay readable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=services.SNAPSHOT_WINDOW_DAYS, help="window in days")

    def handle(self, *args, days: int, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            deleted = services.snapshots_prune(today=business_today(), window_days=days)
        except services.LockHeld as error:
            raise CommandError("A recompute is running; try again when it has finished.") from error
        self.stdout.write(f"Deleted {deleted} snapshot rows.")
