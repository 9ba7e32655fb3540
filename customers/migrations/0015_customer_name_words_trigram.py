"""A GiST trigram index on the customer's name for searches of several words, on
PostgreSQL only (issue 15; customers.filters.NameForWords and _name_contains).

customer_name_trgm (GIN, 0009) reads the whole list of names of every trigram of the
text: for "bench customer 12" at 50,000 customers that is 14 trigrams found in every name,
20-40 ms to count 1,111 matches. GiST walks down to the names whose trigrams hold all of
the text's: 3-4 ms. For one short word GIN stays far faster (0.2 against 6-13 ms for
"ltd"), so both are kept: this one is on `UPPER((name || '')::text)`, the expression the
search writes for several words only, so the planner never mixes them up. SQLite
(tests, development) has no such index and keeps its scan.
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_name_words_trgm ON customers_customer "
        "USING gist (UPPER((name || '')::text) gist_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS customer_name_words_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0014_plannedcontact_covering_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
