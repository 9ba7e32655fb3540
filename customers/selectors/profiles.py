from django.utils.translation import gettext_lazy

HISTORY_IGNORED = {
    "id",
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
    "history_user_name",
}


NOT_VISIBLE = gettext_lazy("a customer of another manager")


def history_changes(history_queryset, *, limit: int = 20, visible: dict | None = None) -> list[dict]:
    """The newest `limit` history records of one object, each with its field changes
    (label, old, new) against the record before it. `visible` maps a linked model to the
    queryset of its rows the reader may see: the others are not named (NOT_VISIBLE). A
    fixed number of queries: one for the records, one per linked model."""
    records = list(history_queryset.select_related("history_user")[: limit + 1])
    if not records:  # rows bulk-created without history
        return []
    fields = [f for f in records[0]._meta.concrete_fields if f.attname not in HISTORY_IGNORED]
    # One query per linked model (manager, referred by, ...) to show names, not ids.
    names: dict[tuple, str] = {}
    for field in (f for f in fields if f.is_relation):
        model = field.related_model
        ids = {getattr(r, field.attname) for r in records} - {None}
        if visible and model in visible:
            names.update(((model, pk), NOT_VISIBLE) for pk in ids)
            source = visible[model]
        else:
            source = model._base_manager
        names.update(((model, obj.pk), str(obj)) for obj in source.filter(pk__in=ids))

    def shown(field, value):
        if field.is_relation and value is not None:
            return names.get((field.related_model, value), f"#{value}")
        if field.choices and value not in (None, ""):
            # The label people read ("Cold call"), not the stored code (cold_call).
            return dict(field.flatchoices).get(value, value)
        return value

    entries = []
    for record, previous in zip(records, records[1:] + [None], strict=True):
        changes = []
        if previous is not None and record.history_type == "~":
            for field in fields:
                old, new = getattr(previous, field.attname), getattr(record, field.attname)
                if old != new:
                    changes.append((field.verbose_name, shown(field, old), shown(field, new)))
        entries.append({"record": record, "changes": changes})
    return entries[:limit]


def customer_product_row(customer, *, has_statuses: bool = True) -> list[dict]:
    """The customer's status for each target product of its segment (not offered when
    nothing is recorded yet), plus any other product with a recorded status.
    `has_statuses` False: the caller knows the customer has none (no query for them)."""
    from ..models import CustomerProduct
    from . import card  # the same reads, compiled once (crm_project.prepared)

    targets, statuses = card.product_row_parts(customer) if customer.segment_id or has_statuses else ([], [])
    recorded = {cp.product_id: cp for cp in statuses}
    row = [{"product": p, "target": True, "status": recorded.pop(p.pk, None)} for p in targets]
    row += [{"product": cp.product, "target": False, "status": cp} for cp in recorded.values()]
    for cell in row:
        cell["code"] = cell["status"].status if cell["status"] else CustomerProduct.Status.NOT_OFFERED
    return row
