"""The KPI table by manager as pages show it: rows of the pre-aggregated facts a user may
see (managers, the unassigned pool when it has anything, team subtotals, TOTAL), each cell
with the kpi it drills into, and plans against actuals. The numbers are the period's
cells summed (reporting.selectors): a constant number of queries whatever the data."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from crm_project.number_text import grouped, reader_format
from customers.access import figures_managers

from . import kpis, selectors
from .models import KpiPeriod
from .periods import KPI_LABELS

# (column key, heading, kpi to drill into, what the value is)
COLUMNS = [
    ("potential", KPI_LABELS["potential"], "potential", "count"),
    ("primary_customers", _("Primary: customers"), "primary", "count"),
    ("primary_amount", _("Primary: sum"), "primary", "amount"),
    ("repeat_customers", _("Repeat: customers"), "repeat", "count"),
    ("repeat_amount", _("Repeat: sum"), "repeat", "amount"),
    ("new_direction_customers", _("New direction: customers"), "new_direction", "count"),
    ("new_direction_amount", _("New direction: sum"), "new_direction", "amount"),
    ("created", KPI_LABELS["created"], "created", "count"),
    ("converted", KPI_LABELS["converted"], "converted", "count"),
    ("conversion", _("Conversion"), None, "share"),
    ("regular", KPI_LABELS["regular"], "regular", "count"),
    ("new", KPI_LABELS["new"], "new", "count"),
    ("restored", KPI_LABELS["restored"], "restored", "count"),
    ("lost", KPI_LABELS["lost"], "lost", "count"),
    ("class_changes", KPI_LABELS["class_changes"], "class_changes", "count"),
]


# The table's two header rows: (heading, sub-headings); a group without sub-headings
# spans both rows.
HEADER_GROUPS = [
    (KPI_LABELS["potential"], []),
    (KPI_LABELS["primary"], [_("customers"), _("sum")]),
    (KPI_LABELS["repeat"], [_("customers"), _("sum")]),
    (KPI_LABELS["new_direction"], [_("customers"), _("sum")]),
    (KPI_LABELS["created"], []),
    (KPI_LABELS["converted"], []),
    (_("Conversion"), []),
    (KPI_LABELS["regular"], []),
    (KPI_LABELS["new"], []),
    (KPI_LABELS["restored"], []),
    (KPI_LABELS["lost"], []),
    (KPI_LABELS["class_changes"], []),
]


@dataclass
class Row:
    key: str  # the drill-down's `row`: a manager id, "none", "team-<id>", "all"
    label: str
    kind: str  # manager, unassigned, team, total
    values: dict = field(default_factory=dict)  # column key -> int count, Decimal amount, Decimal share

    @property
    def cells(self):
        number_format = reader_format()
        for key, _heading, kpi, what in COLUMNS:
            value = self.values.get(key)
            shown_value = shown(value, what, number_format)
            yield {"key": key, "value": value, "kpi": kpi, "what": what, "shown": shown_value}


def shown(value, what: str, number_format: tuple | None = None) -> str:
    """A figure as the tables print it, in the reader's number format: counts grouped,
    money with two decimals, shares in per cent; "—" for an empty conversion."""
    if value is None:
        return "—"
    if what == "amount":
        return grouped(value, 2, number_format)
    if what == "share":
        return f"{grouped(value * 100, 1, number_format)} %"
    return grouped(value, 0, number_format)


def _values(per_kpi: dict) -> dict:
    values = {}
    for key, _heading, kpi, what in COLUMNS:
        if what == "count":
            values[key] = per_kpi.get(kpi, (0, 0))[0]
        elif what == "amount":
            values[key] = kpis.from_units(per_kpi.get(kpi, (0, 0))[1])
    values["conversion"] = kpis.conversion(values["converted"], values["created"])
    return values


def manager_table(*, user, period: KpiPeriod, with_teams: bool = True) -> list[Row]:
    per_manager, teams, total = selectors.table_figures(user=user, period=period)
    managers = {m.pk: m for m in figures_managers(user).select_related("team_membership__team")}
    rows = []
    for manager in sorted(managers.values(), key=lambda m: (_team_name(m), m.get_username())):
        label = manager.get_full_name() or manager.get_username()
        rows.append(Row(str(manager.pk), label, "manager", _values(per_manager.get(manager.pk, {}))))
    # Figures of people who are no longer (or not) sales managers still count.
    for manager_id in sorted(m for m in per_manager if m is not None and m not in managers):
        rows.append(Row(str(manager_id), f"#{manager_id}", "manager", _values(per_manager[manager_id])))
    if per_manager.get(None):
        rows.append(Row("none", str(_("Unassigned")), "unassigned", _values(per_manager[None])))
    for (team_id, team), per_kpi in sorted(teams.items() if with_teams else [], key=lambda item: item[0][1]):
        rows.append(Row(f"team-{team_id}", str(_("Team %(name)s") % {"name": team}), "team", _values(per_kpi)))
    rows.append(Row("all", str(_("Total")), "total", _values(total)))
    return rows


def total_row(*, user, period: KpiPeriod) -> Row:
    """The TOTAL row alone (the previous period on the dashboard)."""
    return Row("all", str(_("Total")), "total", _values(selectors.total_row(user=user, period=period)))


def _team_name(manager) -> str:
    membership = getattr(manager, "team_membership", None)
    return membership.team.name if membership else ""


def with_plans(rows: list[Row], *, user, period: KpiPeriod) -> list[dict]:
    """Plan, actual and % per manager row: revenue (all categories), primary, new direction."""
    plans = selectors.plans_by_manager(user=user, start=period.start, end=period.end)
    out = []
    for row in rows:
        if row.kind != "manager":
            continue
        actual = {
            "revenue": row.values["primary_amount"] + row.values["repeat_amount"] + row.values["new_direction_amount"],
            "primary": row.values["primary_amount"],
            "new_direction": row.values["new_direction_amount"],
        }
        plan = plans.get(int(row.key), {})
        out.append(
            {
                "row": row,
                "figures": [
                    {
                        "name": name,
                        "plan": plan.get(name),
                        "actual": actual[name],
                        "percent": kpis.plan_percentage(actual[name], plan.get(name)),
                    }
                    for name in ("revenue", "primary", "new_direction")
                ],
            }
        )
    return out


def _change(change, what: str) -> str:
    if change is None:
        return ""
    sign = "+" if change > 0 else ""
    return sign + shown(change, what)


def export_rows(rows: list[Row]) -> tuple[list[str], list[list]]:
    header = [str(_("Manager"))] + [str(heading) for _key, heading, _kpi, _what in COLUMNS]
    body = [[row.label] + [row.values.get(key) for key, *_rest in COLUMNS] for row in rows]
    return header, body


def deltas(current: Row, previous: Row | None) -> list[dict]:
    """The total row against the previous period's: value, previous value, change."""
    out = []
    for key, heading, kpi, what in COLUMNS:
        now = current.values.get(key)
        before = previous.values.get(key) if previous else None
        change = None
        if now is not None and before is not None:
            change = Decimal(now) - Decimal(before)
        out.append({"key": key, "label": heading, "kpi": kpi, "what": what, "now": shown(now, what),
                    "before": shown(before, what), "change": change, "change_shown": _change(change, what),
                    "now_value": now, "before_value": before})  # fmt: skip
    return out
