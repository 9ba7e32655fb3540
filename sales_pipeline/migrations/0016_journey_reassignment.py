"""A customer's reassignment sets the one journey column that copies the customer's
manager, instead of recomputing every journey of the moved customers from their stage
changes (0012 did: reassigning 2,900 customers with ~58,000 deals took 8.5 s in the
trigger, measured on the 50,000-customer bench). The deals are locked first, in key
order, as deal_journey_refresh locks them, so concurrent writers of those deals wait in
the same place."""

from django.db import migrations

JOURNEYS = "sales_pipeline_dealjourney"
DEALS = "sales_pipeline_deal"
CUSTOMERS = "customers_customer"

_MOVED = "SELECT id, manager_id FROM new_rows EXCEPT SELECT id, manager_id FROM old_rows"

POSTGRESQL_SET = f"""
CREATE OR REPLACE FUNCTION deal_journey_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM {DEALS} AS d WHERE d.customer_id IN (SELECT id FROM ({_MOVED}) AS moved)
        ORDER BY d.id FOR NO KEY UPDATE;
    UPDATE {JOURNEYS} AS j SET customer_manager_id = moved.manager_id
    FROM ({_MOVED}) AS moved JOIN {DEALS} AS d ON d.customer_id = moved.id
    WHERE j.deal_id = d.id AND j.customer_manager_id IS DISTINCT FROM moved.manager_id;
    RETURN NULL;
END $$;
"""

# 0012's body, for going back
POSTGRESQL_REFRESH = f"""
CREATE OR REPLACE FUNCTION deal_journey_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deal_journey_refresh(ARRAY(
        SELECT d.id FROM {DEALS} AS d WHERE d.customer_id IN (
            SELECT id FROM ({_MOVED}) AS moved
        )
    ));
    RETURN NULL;
END $$;
"""

_SQLITE_HEAD = (
    f"CREATE TRIGGER deal_journey_customer_update AFTER UPDATE OF manager_id ON {CUSTOMERS} "
    "WHEN OLD.manager_id IS NOT NEW.manager_id BEGIN "
)
SQLITE_SET = (
    _SQLITE_HEAD + f"UPDATE {JOURNEYS} SET customer_manager_id = NEW.manager_id "
    f"WHERE deal_id IN (SELECT id FROM {DEALS} WHERE customer_id = NEW.id); END"
)


def _sqlite_refresh_trigger() -> str:
    from importlib import import_module

    journeys = import_module("sales_pipeline.migrations.0012_deal_journeys")
    return next(sql for sql in journeys.SQLITE_INSTALL if "deal_journey_customer_update" in sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_SET)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER deal_journey_customer_update")
        schema_editor.execute(SQLITE_SET)
    else:
        raise NotImplementedError(f"The deals' journeys have triggers for PostgreSQL and SQLite only, not {vendor}.")


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REFRESH)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER deal_journey_customer_update")
        schema_editor.execute(_sqlite_refresh_trigger())


class Migration(migrations.Migration):

    dependencies = [
        ("sales_pipeline", "0015_purchase_days"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
