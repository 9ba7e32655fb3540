"""customers' reads: profiles.py (the card's history and product row) and agenda.py (the
agenda's rows, birthdays and holidays)."""
