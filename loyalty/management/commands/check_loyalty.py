from django.core.management.base import BaseCommand, CommandError

from loyalty import services


class Command(BaseCommand):
    help = "Check that every card's cached balance equals the sum of its ledger and is not negative."

    def handle(self, *args, **options):
        drift = services.balance_drift()
        if drift:
            lines = [f"card {number}: cached {cached}, ledger {ledger}" for number, cached, ledger in drift]
            raise CommandError(f"{len(drift)} card(s) out of balance:\n" + "\n".join(lines))
        self.stdout.write("Every card's balance equals its ledger.")
