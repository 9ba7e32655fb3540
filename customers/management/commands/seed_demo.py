import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm_project import hooks
from crm_project.dates import business_today
from customers import demo
from customers.models import Customer


class Command(BaseCommand):
    help = "Fill an empty database with deterministic demo data and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="Delete all customers first.")

    def handle(self, *args, customers: int, seed: int, reset: bool, **options):
        """People and customers here; everything else comes from the seeders each app
        registers (crm_project.hooks.DEMO_SEEDERS), in layer order, in one transaction."""
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates users with a known password.")
        with transaction.atomic():
            if reset:
                for reset_app in reversed(hooks.get_hooks(hooks.DEMO_RESETS)):
                    reset_app()
                Customer.objects.all().delete()
            users = demo.seed_people()
            if Customer.objects.exists():
                self.stdout.write("Customers exist already: demo data left as it is (use --reset to rebuild).")
            else:
                rng = random.Random(seed)
                created = demo.seed_customers(users=users, count=customers, rng=rng)
                context = hooks.DemoContext(
                    users=users, customers=created, seed=seed, today=business_today(), stdout=self.stdout
                )
                context.extra["rng"] = rng  # one stream shared by the seeders that used it before the hooks
                for seeder in hooks.get_hooks(hooks.DEMO_SEEDERS):
                    seeder(context)
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {demo.DEMO_PASSWORD})"))
        for username, _first, _last, role, team in demo.DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role}{f' (team {team})' if team else ''}")
        self.stdout.write("")
