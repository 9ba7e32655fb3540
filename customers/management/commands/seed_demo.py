import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from customers import demo, demo_agenda, demo_profiles, demo_segments
from customers.models import Customer
from sales_pipeline import demo as ledger_demo
from sales_pipeline import demo_deals
from sales_pipeline.models import SettlementLine
from segmentation.classification import months_before
from segmentation.models import ClassificationSettings, RecomputeRun
from segmentation.services import segments_recompute


class Command(BaseCommand):
    help = "Fill an empty database with deterministic demo data and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="Delete all customers first.")

    def handle(self, *args, customers: int, seed: int, reset: bool, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates users with a known password.")
        today = timezone.localdate()
        seeded = False
        with transaction.atomic():
            if reset:
                SettlementLine.objects.all().delete()
                demo_deals.reset_deals()
                Customer.objects.all().delete()
                RecomputeRun.objects.all().delete()
            users = demo.seed_people()
            if Customer.objects.exists():
                self.stdout.write("Customers exist already: demo data left as it is (use --reset to rebuild).")
            else:
                rng = random.Random(seed)
                created = demo.seed_customers(users=users, count=customers, rng=rng)
                demo_profiles.seed_profiles(customers=created, rng=random.Random(seed + 2))
                demo_agenda.seed_agenda(users=users, customers=created, rng=random.Random(seed + 1), today=today)
                lines = ledger_demo.seed_ledger(customers=created, rng=rng, today=today)
                demo_segments.seed_segments()
                demo_segments.seed_product_statuses(rng=rng, today=today)
                demo_deals.seed_deals(customers=created, users=users, rng=random.Random(seed + 3), today=today)
                self.stdout.write(f"Created {len(created)} customers and {lines} settlement lines.")
                seeded = True
        if seeded:
            # Classify today and at each of the last eight period ends, so every page has data.
            period = ClassificationSettings.current().period_months
            for j in range(8):
                segments_recompute(as_of=months_before(today, j * period), triggered_by="seed_demo")
            self.stdout.write("Classified the customers as of today and the last eight period ends.")
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD})"))
        for username, _first, _last, role, team in demo.DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role}{f' (team {team})' if team else ''}")
        self.stdout.write("")
