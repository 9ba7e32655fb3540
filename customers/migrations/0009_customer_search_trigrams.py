"""Trigram indexes for the customer search (customers.filters.customer_search: name, e-mail,
phone and city contain the text, or the reference is it), on PostgreSQL only (issue 15).

The search is an OR of `UPPER(col::text) LIKE UPPER('%text%')` and one equality: with
every branch indexed PostgreSQL combines the indexes (BitmapOr) instead of reading all
customers; one branch without an index would send it back to a full scan. The
expressions are the ones Django writes for icontains and iexact, so the planner matches
them. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
SQLite (tests, development) has no such index and keeps its scan.
"""

from django.db import migrations

COLUMNS = ["name", "email", "phone", "city"]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS customer_{column}_trgm ON customers_customer "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_external_ref_upper ON customers_customer (UPPER(external_ref::text))"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS customer_{column}_trgm")
    schema_editor.execute("DROP INDEX IF EXISTS customer_external_ref_upper")


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_birthday_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
