from django.core.management.base import BaseCommand, CommandError

from loyalty import services
from loyalty.models import Card


class Command(BaseCommand):
    help = "Redeem POINTS from card CARD (the same rules as the point of sale). Exit 1 with the reason when refused."

    def add_arguments(self, parser):
        parser.add_argument("card", help="The card number.")
        parser.add_argument("points", type=int)
        parser.add_argument("--reason", required=True, help="Why (kept on the ledger entry).")

    def handle(self, *args, card, points, reason, **options):
        found = Card.objects.filter(number=card.replace(" ", "")).first()
        if found is None:
            raise CommandError(f"No card {card}.")
        try:
            services.points_redeem(card=found, points=points, reason=reason)
        except services.Refused as refusal:
            raise CommandError(" ".join(refusal.messages)) from refusal
        found.refresh_from_db()
        self.stdout.write(f"Redeemed {points} points from card {found.number}; {found.balance} left.")
