"""sales_pipeline's writes: ledger.py (every write to the settlement ledger), imports.py
(running a settlement import), deals.py (every change of a deal)."""
