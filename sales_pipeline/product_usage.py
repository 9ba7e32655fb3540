"""Settlements feed product status (domain.md section 3): a purchase means "in use".

A positive settlement line for a product marks that product "in use" for its customer,
dated by the customer's first positive line for the product in the ledger. Called inside
the transaction that wrote the lines (the settlement import, a payment), with the batch's
(customer, product) pairs, so the statuses commit or roll back with the lines.

What happens to each status, decided here:
* "in use": left exactly as it is, date included (never downgraded, never re-dated);
* not offered, offered, contract signed, refused: become "in use" from the first positive
  line's date, and a refusal's reason is cleared: whatever was said, the customer buys it;
* no status yet: one is created, "in use" from that date;
* negative lines (returns, refunds) change nothing.

Set-based: per chunk of pairs, one SELECT of the rows to change, one UPDATE, one
INSERT ... SELECT for the missing rows, and their history rows copied by INSERT ... SELECT
(crm_project.history), whatever the number of lines or pairs in the chunk.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from crm_project.history import history_rows_copy
from customers.models import CustomerProduct

from .models import SettlementLine

IN_USE = CustomerProduct.Status.IN_USE


def _chunk_size() -> int:
    # Two parameters per pair: SQLite allows so many per statement, PostgreSQL far more.
    return 400 if connection.vendor == "sqlite" else 5_000


def product_usage_mark(*, pairs: Iterable[tuple[int, int]], user=None, reason: str = "") -> int:
    """Mark each (customer id, product id) of `pairs` that has a positive line in the
    ledger "in use" (see the module's rules). Returns how many statuses changed or were
    created. `user` and `reason` go on their history rows."""
    wanted = sorted({(int(c), int(p)) for c, p in pairs if c is not None and p is not None})
    size = _chunk_size()
    return sum(
        _mark_chunk(wanted[start : start + size], user=user, reason=reason) for start in range(0, len(wanted), size)
    )


def _mark_chunk(pairs: list[tuple[int, int]], *, user, reason: str) -> int:
    quote = connection.ops.quote_name
    status_table, ledger = quote(CustomerProduct._meta.db_table), quote(SettlementLine._meta.db_table)
    batch = f"WITH batch (customer_id, product_id) AS (VALUES {', '.join(['(%s, %s)'] * len(pairs))}) "
    batch_params = [value for pair in pairs for value in pair]
    now = CustomerProduct._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    bought = (
        f"SELECT 1 FROM {ledger} AS l WHERE l.customer_id = {status_table}.customer_id "
        f"AND l.product_id = {status_table}.product_id AND l.amount > 0"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            batch + f"SELECT {status_table}.id FROM {status_table} JOIN batch "
            f"ON batch.customer_id = {status_table}.customer_id AND batch.product_id = {status_table}.product_id "
            f"WHERE {status_table}.status <> %s AND EXISTS ({bought})",
            [*batch_params, IN_USE],
        )
        changed = [row[0] for row in cursor.fetchall()]
        if changed:
            cursor.execute(
                f"UPDATE {status_table} SET status = %s, refusal_reason = '', updated_at = %s, "
                f"status_date = (SELECT MIN(l.date) FROM {ledger} AS l "
                f"WHERE l.customer_id = {status_table}.customer_id AND l.product_id = {status_table}.product_id "
                f"AND l.amount > 0) WHERE id IN ({', '.join(['%s'] * len(changed))})",
                [IN_USE, now, *changed],
            )
        cursor.execute(
            batch + f"INSERT INTO {status_table} (customer_id, product_id, status, status_date, refusal_reason, "
            f"updated_at) SELECT l.customer_id, l.product_id, %s, MIN(l.date), '', %s FROM {ledger} AS l "
            "JOIN batch ON batch.customer_id = l.customer_id AND batch.product_id = l.product_id "
            f"WHERE l.amount > 0 AND NOT EXISTS (SELECT 1 FROM {status_table} AS s "
            "WHERE s.customer_id = l.customer_id AND s.product_id = l.product_id) "
            "GROUP BY l.customer_id, l.product_id RETURNING id",
            [*batch_params, IN_USE, now],
        )
        created = [row[0] for row in cursor.fetchall()]
    history_rows_copy(CustomerProduct, changed, history_type="~", user=user, change_reason=reason)
    history_rows_copy(CustomerProduct, created, history_type="+", user=user, change_reason=reason)
    return len(changed) + len(created)
