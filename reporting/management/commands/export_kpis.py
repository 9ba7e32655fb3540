"""python manage.py export_kpis --start YYYY-MM-DD --end YYYY-MM-DD --by manager|customer FILE

Computes the period (kpi_period_fill: the snapshots as of S - 1 and E are made when
missing) and writes the KPI table as CSV with exactly the columns of issue 12, in that
order (other tools read them: more may follow, none is renamed or moved). Amounts are
plain decimals; `conversion` is converted / created, empty when nothing was created.
By manager: one row per manager (username; empty for the unassigned pool), one per team
(`team:<name>`), then `TOTAL`, which counts distinct customers.
"""

import csv
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from reporting import kpis, selectors, services
from reporting.models import KpiCustomerRow

MANAGER_HEADER = ["manager", *kpis.MANAGER_COLUMNS]
CUSTOMER_HEADER = ["customer", "manager", *kpis.CUSTOMER_COLUMNS[2:]]
AMOUNTS = {"primary_amount", "repeat_amount", "new_direction_amount"}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {text}") from error


class Command(BaseCommand):
    help = "Write the KPI table of a period (by manager or by customer) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--start", required=True)
        parser.add_argument("--end", required=True)
        parser.add_argument("--by", choices=["manager", "customer"], default="manager")

    def handle(self, *args, file, start, end, by, **options):
        start, end = _day(start), _day(end)
        if start > end:
            raise CommandError("--start is after --end.")
        try:
            period = services.kpi_period_fill(start=start, end=end)
        except services.FutureDate as error:
            message = f"The period ends after today ({error}): the classes of that day do not exist yet."
            raise CommandError(message) from error
        rows = manager_rows(period) if by == "manager" else customer_rows(period)
        with open(file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(MANAGER_HEADER if by == "manager" else CUSTOMER_HEADER)
            count = 0
            for row in rows:
                writer.writerow(row)
                count += 1
        self.stdout.write(f"{count} rows written to {file} ({start}..{end}, by {by})")


def _cell(column: str, value):
    if column in AMOUNTS:
        return kpis.plain_decimal(value)
    if column == "conversion":
        return "" if value is None else format(value, "f")
    return value


def manager_rows(period):
    table = kpis.manager_table(selectors.facts_frame(period), teams=selectors.team_names())
    names = dict(get_user_model().objects.values_list("pk", get_user_model().USERNAME_FIELD))
    for key, values in table.iterrows():
        if key == "TOTAL" or (isinstance(key, str) and key.startswith("team:")):
            label = key
        else:
            label = "" if key == kpis.UNASSIGNED else names.get(int(key), str(key))
        yield [label, *(_cell(column, values[column]) for column in kpis.MANAGER_COLUMNS)]


def customer_rows(period):
    rows = KpiCustomerRow.objects.filter(period=period).order_by("customer_id")
    refs = dict(Customer.objects.values_list("pk", "external_ref"))
    managers = dict(Customer.objects.filter(manager__isnull=False).values_list("pk", "manager__username"))
    for row in rows.iterator(chunk_size=5_000):
        yield [
            refs.get(row.customer_id) or "",
            managers.get(row.customer_id, ""),
            row.status_start,
            row.status_end,
            row.abc_start,
            row.abc_end,
            row.xyz_start,
            row.xyz_end,
            format(row.primary_amount, "f"),
            format(row.repeat_amount, "f"),
            format(row.new_direction_amount, "f"),
        ]
