"""Whether a page's object has related rows, read with the object's own row (issue 15).

A detail page draws several sections from rows that hang off its object (the customer card's
contacts, complaints, loyalty cards; the deal page's payments, documents): a query each, even
for the many objects where a section is empty. An EXISTS per section on the object's query
costs an index probe instead, and an empty section then costs no query of its own.

The EXISTS is written once per process from the models' table and column names: an Exists()
built and compiled by the ORM cost about half a millisecond of Python per annotation, on
every page.
"""

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL


@cache
def _sql(model, link: str, outer, where: tuple[str, ...], where_not: tuple[str, ...]) -> str:
    q = connections[DEFAULT_DB_ALIAS].ops.quote_name  # PostgreSQL and SQLite quote alike
    table = q(model._meta.db_table)

    def column(name):
        return f"{table}.{q(model._meta.get_field(name).column)}"

    conditions = [f"{column(link)} = {q(outer._meta.db_table)}.{q(outer._meta.pk.column)}"]
    conditions += [f"{column(name)} = %s" for name in where]
    conditions += [f"NOT ({column(name)} = %s)" for name in where_not]  # NOT NULL columns only
    return f"EXISTS (SELECT 1 FROM {table} WHERE {' AND '.join(conditions)})"


def has_rows(model, link: str, *, outer=None, where_not: dict | None = None, **where) -> RawSQL:
    """An annotation of a query on `outer` (the model `link` points to, by default): whether
    `model` has a row whose `link` is the outer row's key, with `where`'s values and without
    `where_not`'s (columns that are never NULL). `outer` names the model when `link` is a
    plain column holding its key (a history table's id). The outer query must read `outer`'s
    table under its own name, as a model's queryset does."""
    outer = outer or model._meta.get_field(link).related_model
    where_not = where_not or {}
    sql = _sql(model, link, outer, tuple(where), tuple(where_not))
    params = [getattr(value, "value", value) for value in (*where.values(), *where_not.values())]
    # names from the models' _meta, quoted; values passed as parameters
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611
