"""Customer lists extended by other apps (crm_project.hooks.CUSTOMER_COLUMNS): the classes
from segmentation, for example, arrive as annotations, table columns and filters, so that
customers never imports the apps below it."""

from functools import cache

from crm_project import hooks


def list_columns(list_name: str) -> list[hooks.ListColumns]:
    return [contribution for hook in hooks.get_hooks(hooks.CUSTOMER_COLUMNS) if (contribution := hook(list_name))]


def annotate(queryset, list_name: str):
    """The queryset with every contribution's annotations (in the same query)."""
    for contribution in list_columns(list_name):
        queryset = contribution.annotate(queryset)
    return queryset


def table_kwargs(table_class, list_name: str, extra_columns=()) -> dict:
    """`extra_columns` and `sequence` for a django-tables2 table: each contribution's
    columns placed after its `after` column (at the end when absent)."""
    sequence = list(table_class.base_columns)
    columns = list(extra_columns)
    for contribution in list_columns(list_name):
        names = [name for name, _ in contribution.columns]
        columns += contribution.columns
        at = sequence.index(contribution.after) + 1 if contribution.after in sequence else len(sequence)
        sequence[at:at] = names
    sequence += [name for name, _ in extra_columns if name not in sequence]
    return {"extra_columns": columns, "sequence": sequence}


@cache
def filterset_class(base_class, list_name: str):
    """`base_class` with every contribution's filters added (built once: hooks are set at
    start-up)."""
    filters = {name: f for contribution in list_columns(list_name) for name, f in contribution.filters.items()}
    if not filters:
        return base_class
    meta = type("Meta", (base_class.Meta,), {"fields": [*base_class.Meta.fields, *filters]})
    return type(base_class.__name__, (base_class,), {**filters, "Meta": meta})
