"""customers' writes: profiles.py (a customer with its contacts, reassignment, bulk
updates) and agenda.py (interactions, planned contacts, hand-overs, greetings)."""
