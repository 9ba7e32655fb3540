from django.core.management.base import BaseCommand

from segmentation.contact_due import contact_due_fill
from segmentation.models import CustomerSnapshot


class Command(BaseCommand):
    help = (
        "Fill the rows the control point 'contact interval exceeded' reads from the current classification "
        "snapshot (what the nightly recompute does after its run); the database's triggers keep them from then on."
    )

    def handle(self, *args, **options):
        as_of = CustomerSnapshot.objects.latest_date()
        if as_of is None:
            self.stdout.write("No finished classification run yet: nothing to fill.")
            return
        contact_due_fill(as_of=as_of)
        self.stdout.write(f"Filled the contact due rows from the snapshot of {as_of}.")
