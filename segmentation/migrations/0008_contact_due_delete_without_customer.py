"""SQLite's trigger on a deleted last interaction (segmentation 0005) wrote the customer's
creation time into ContactDue.since: NULL, a NOT NULL error, when the customer's row was
already gone, as in a flush (`manage.py flush`, the test runner's), which deletes customers
before interactions. The row now stays as it is when the customer is missing (its row
goes with the customer). PostgreSQL's trigger joins the customers and needs nothing."""

from django.db import migrations

DUE = "segmentation_contactdue"
LAST = "customers_lastinteraction"
CUSTOMERS = "customers_customer"


def _delete_trigger(guarded: bool) -> str:
    guard = f"AND EXISTS (SELECT 1 FROM {CUSTOMERS} WHERE id = OLD.customer_id) " if guarded else ""
    return (
        f"CREATE TRIGGER contact_due_last_delete AFTER DELETE ON {LAST} BEGIN "
        f"UPDATE {DUE} SET since = (SELECT created_at FROM {CUSTOMERS} WHERE id = OLD.customer_id) "
        f"WHERE customer_id = OLD.customer_id {guard}"
        f"AND NOT EXISTS (SELECT 1 FROM {LAST} WHERE customer_id = OLD.customer_id); END"
    )


def _replace(guarded: bool):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        schema_editor.execute("DROP TRIGGER contact_due_last_delete")
        schema_editor.execute(_delete_trigger(guarded))

    return run


class Migration(migrations.Migration):
    dependencies = [("segmentation", "0007_class_interval_start")]

    operations = [migrations.RunPython(_replace(guarded=True), _replace(guarded=False))]
