"""Creating many rows of a model kept by django-simple-history, with their '+' history
rows, fast enough for imports.

simple_history's bulk_create_with_history builds one historical model instance per row
in Python: for the 20,000 customers of a million-line settlement import that took longer
than creating the customers themselves. Here the history rows are copied from the new
rows by one INSERT ... SELECT per chunk, the same columns simple_history would write.

Every history table also keeps the actor's username once that user is deleted (AUD-03):
the user key of a history row is set to NULL when its user goes; just before, one UPDATE
per history table copies the username onto that user's rows (HistoryActorName).
"""

from __future__ import annotations

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords, registered_models


def bulk_create_with_history_rows(objs: list[models.Model], model: type[models.Model], *, user=None,
                                  change_reason: str = "", batch_size: int = 1_000) -> list[models.Model]:  # fmt: skip
    """bulk_create `objs` (their primary keys set, as the database returns them), then
    write each one's creation history row as of now, by `user`, with `change_reason`."""
    created = model.objects.bulk_create(objs, batch_size=batch_size)
    ids = [obj.pk for obj in created]
    if None in ids:  # a database that does not return the new keys
        raise NotImplementedError(f"{connection.vendor} does not return the keys of bulk-created rows.")
    history_rows_copy(model, ids, history_type="+", user=user, change_reason=change_reason)
    return created


def history_rows_copy(model: type[models.Model], ids: list, *, history_type: str, user=None,
                      change_reason: str = "") -> None:  # fmt: skip
    """Write one history row per id of `model` as the row is now ('+' created, '~' changed),
    by one INSERT ... SELECT per chunk: for rows written in bulk, set-based."""
    quote = connection.ops.quote_name
    pk = f"{quote(model._meta.db_table)}.{quote(model._meta.pk.column)}"
    size = 900 if connection.vendor == "sqlite" else 10_000  # SQLite's limit on parameters
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        history_rows_copy_where(
            model, f"WHERE {pk} IN ({', '.join(['%s'] * len(chunk))})", chunk,
            history_type=history_type, user=user, change_reason=change_reason,
        )  # fmt: skip


def history_rows_copy_where(model: type[models.Model], rest_sql: str, params: list, *, history_type: str,
                            user=None, change_reason: str = "", source: str | None = None) -> None:  # fmt: skip
    """Write one history row, as in history_rows_copy, for each row that
    `FROM <source> {rest_sql}` selects: `source` is the model's table by default (then
    rest_sql joins a batch table or filters), or a relation of the same columns that
    rest_sql defines before it, e.g. a `WITH created AS (INSERT ... RETURNING *)` whose
    rows then need no join back (rest_sql then starts the statement). One statement
    whatever the number of rows, no ids through Python (a million-line import's 900,000
    product statuses, bench/README.md)."""
    history = model.history.model
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    source = table if source is None else source
    fields = {field.attname: field.column for field in model._meta.concrete_fields}
    copied = [field for field in history._meta.concrete_fields if field.attname in fields]
    own = {
        "history_date": timezone.now(),
        "history_change_reason": change_reason,
        "history_type": history_type,
        "history_user_id": user.pk if user is not None else None,
        "history_user_name": "",  # written only when that user is deleted (HistoryActorName)
    }
    unknown = {field.attname for field in history._meta.concrete_fields} - set(fields) - set(own) - {"history_id"}
    if unknown:  # a newer simple_history or a custom history field: this copy would miss it
        raise NotImplementedError(f"History fields not copied: {sorted(unknown)}")
    columns = ", ".join(quote(field.column) for field in copied + [history._meta.get_field(name) for name in own])
    selected = ", ".join(f"{source}.{quote(fields[field.attname])}" for field in copied)
    own_values = [history._meta.get_field(name).get_db_prep_save(value, connection) for name, value in own.items()]
    insert = (
        f"INSERT INTO {quote(history._meta.db_table)} ({columns}) "
        f"SELECT {selected}, {', '.join(['%s'] * len(own))} FROM {source}"
    )
    with connection.cursor() as cursor:
        if source == table:
            order = f"ORDER BY {table}.{quote(model._meta.pk.column)}"
            cursor.execute(f"{insert} {rest_sql} {order}", [*own_values, *params])
        else:
            cursor.execute(f"{rest_sql} {insert}", [*params, *own_values])


class HistoryActorName(models.Model):
    """Base of the history models (HistoricalRecords(bases=[HistoryActorName]))."""

    history_user_name = models.CharField(_("changed by (deleted user)"), max_length=150, blank=True, default="",
                                         editable=False)  # fmt: skip

    class Meta:
        abstract = True


# simple_history gives its own columns no label: Django derives "history date" and so on
# from their names, in English only. The same words, marked for translation (only the
# label changes, not the migration state).
HISTORY_FIELD_LABELS = {
    "history_id": _("history id"),
    "history_date": _("history date"),
    "history_change_reason": _("history change reason"),
    "history_type": _("history type"),
    "history_user": _("history user"),
}


class LabelledHistoricalRecords(HistoricalRecords):
    """HistoricalRecords whose own columns' labels go through translation."""

    def get_extra_fields(self, model, fields):
        extra = super().get_extra_fields(model, fields)
        for name, label in HISTORY_FIELD_LABELS.items():
            if name in extra and hasattr(extra[name], "verbose_name"):
                extra[name].verbose_name = label
        return extra


def keep_actor_names(sender, instance, **kwargs) -> None:
    """pre_delete of a user: its username onto its history rows, before they lose the key."""
    for model in set(registered_models.values()):
        model.history.model.objects.filter(history_user=instance).update(history_user_name=instance.get_username())
