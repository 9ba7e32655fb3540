"""Named extension points: a lower app asks, the apps below it in the layer order answer.

A registry of named lists, as Wagtail's hooks: an app registers its functions in its
`AppConfig.ready()`, the page that shows them calls `get_hooks(name)`. Removing an app from
INSTALLED_APPS removes what it contributed and breaks nothing. Every hook function must cost
a constant number of queries, whatever the data size (architecture.md).
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from .object_urls import object_url

# fn(request, customer) -> Panel | None: a section of the customer card
CARD_PANELS = "customer_card_panels"
# fn(request) -> dict[str, Expression]: annotations on the card's customer row, read by the same
# app's CARD_PANELS function from `customer` (e.g. an Exists telling whether a section has rows,
# so an empty section costs no query of its own). Names start with "card_"; a panel reads them
# with getattr(customer, name, True), so it still works for a customer loaded without them.
CARD_ANNOTATIONS = "customer_card_annotations"
# fn(*, viewer, owner, today: date) -> list[AgendaRow]: things due on `owner`'s agenda, as `viewer` may see them
AGENDA_ROWS = "agenda_rows"
# fn(*, user, today: date, manager=None) -> list[AgendaRow]: more rows for the control points page
# (the pipeline's own come first; e.g. segmentation's "contact interval exceeded" per ABC class)
CONTROL_POINTS = "control_points"
# fn(customer_ids: set[int], *, viewer) -> dict[customer_id, list[DossierItem]]: lines of an agenda
# row's dossier, of what `viewer` may see
AGENDA_DOSSIER = "agenda_dossier"
# fn(list_name: str) -> ListColumns | None: annotations, columns and filters of a customer list
# ("customers": the customer list and its export; "managed_base": the managed base)
CUSTOMER_COLUMNS = "customer_list_columns"
# fn(request, start: date, end: date, stored: dict | None) -> Widget | None: a block on the
# director's dashboard. `stored`: the sums, over the managers the viewer sees, of the rows the
# same app's DASHBOARD_FACTS function gave when the period was filled ({key: (n, amount)};
# None when the app registers none)
DASHBOARD_WIDGETS = "dashboard_widgets"
# fn(*, start: date, end: date) -> list[(manager_id | None, key: str, n: int, amount: int)]: a
# widget's numbers per manager, counted when reporting fills a period (nightly, and after
# ledger writes) and stored, so that the widget sums a few rows instead of scanning while the
# dashboard renders. Set-based: a constant number of queries for all managers.
DASHBOARD_FACTS = "dashboard_facts"
# fn(user) -> list[HealthCheck]: measured shares for the process health page
PROCESS_HEALTH = "process_health_checks"
# fn(*, customer_ids: list[int], actor, reason: str) -> None: these customers' manager has just
# changed, inside the caller's transaction; move the open work that follows the assignment
# to customer.manager (the pipeline's open deals), with history. Called by
# customers.services.customers_reassigned only; a set-based update, not a loop per customer.
CUSTOMERS_REASSIGNED = "customers_reassigned"
# fn(*, since: date) -> None: settlement lines dated `since` or later were just added or
# deleted, inside the caller's transaction. One call per write (a payment, an import, an
# admin deletion) however many lines: the receiver marks what it keeps of later dates
# stale, set-based. Sent by sales_pipeline.services.ledger only.
LEDGER_CHANGED = "ledger_changed"
# fn(demo: DemoContext) -> None: demo data, called in `order` (layer order) by seed_demo
DEMO_SEEDERS = "demo_seeders"
# fn() -> None: delete an app's demo data, called in reverse order by seed_demo --reset
DEMO_RESETS = "demo_resets"

_registry: dict[str, list[tuple[int, Callable]]] = defaultdict(list)


def register(name: str, fn: Callable | None = None, *, order: int = 0):
    """Add `fn` to the hook `name` (lower `order` first). Usable as a decorator. Registering
    the same function twice (ready() run again in tests) keeps one entry."""

    def add(function: Callable) -> Callable:
        entries = _registry[name]
        if all(existing is not function for _, existing in entries):
            entries.append((order, function))
            entries.sort(key=lambda entry: entry[0])
        return function

    return add(fn) if fn is not None else add


def get_hooks(name: str) -> list[Callable]:
    return [fn for _, fn in _registry.get(name, [])]


def unregister(name: str, fn: Callable) -> None:
    """For tests that swap a contribution out."""
    _registry[name] = [(order, existing) for order, existing in _registry.get(name, []) if existing is not fn]


@dataclass
class Panel:
    """A section of the customer card: `template` rendered with `context` added to the
    card's own (customer, request, perms). `column`: "main" (middle) or "side" (right)."""

    template: str
    context: dict = field(default_factory=dict)
    column: str = "main"
    order: int = 50


@dataclass
class AgendaRow:
    """One thing due for a manager on a day: a control point, an overdue complaint, a
    survey to send, a tier change to announce. `kind` is a translated label people read."""

    kind: str
    date: date
    customer_id: int | None
    customer_name: str
    text: str
    url: str
    overdue: bool = False
    slug: str = ""  # a CSS class for tests and styling, e.g. "control-point-offer_expired"
    detail: str = ""

    @property
    def customer_url(self) -> str:
        """The customer's card (pages list up to a thousand rows: no reverse() each)."""
        return object_url("customers:customer_detail", self.customer_id) if self.customer_id else ""


@dataclass
class DossierItem:
    """One line of the dossier under an agenda row: `label`, then `text` (linked to `url`)."""

    label: str
    text: str
    url: str = ""


@dataclass
class ListColumns:
    """What an app adds to a customer list. `annotate(queryset)` adds the values, in the
    same query; `columns` are django-tables2 (name, Column) pairs placed after the column
    `after`; `filters` are django-filter filters over the annotations, by name."""

    annotate: Callable
    columns: list = field(default_factory=list)
    filters: dict = field(default_factory=dict)
    after: str = ""


@dataclass
class Widget:
    """A block on the director's dashboard: `template` rendered with `context`."""

    title: str
    template: str
    context: dict = field(default_factory=dict)
    order: int = 50


@dataclass
class HealthCheck:
    """One measured share on the process health page: `good` of `total` records are as the
    method wants; `url` lists the records that pull the share down."""

    key: str
    label: str
    good: int
    total: int
    url: str = ""


@dataclass
class DemoContext:
    """What seed_demo hands each app's demo seeder."""

    users: dict
    customers: list
    seed: int
    today: date
    stdout: object = None
    extra: dict = field(default_factory=dict)

    def say(self, text: str) -> None:
        if self.stdout is not None:
            self.stdout.write(text)
