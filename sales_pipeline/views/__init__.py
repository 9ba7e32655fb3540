"""sales_pipeline's pages, in two groups: the ledger (ledger.py: settlement lines and their
imports) and the deals (board, deals, actions, documents, reports; common.py holds what
they share). Routed by sales_pipeline/urls.py."""
