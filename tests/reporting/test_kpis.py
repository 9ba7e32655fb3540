"""The KPI rules (reporting/kpis.py) on a hand-built scenario; every expected number was
worked out by hand from the lines and snapshots below (issue 12, domain.md section 8)."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from reporting import kpis

M1, M2 = 1, 2
L10, L20 = 10, 20
S, E = date(2024, 4, 1), date(2024, 6, 30)


def units(amount) -> int:
    return kpis.to_units(amount)


def lines_frame(rows):
    return pd.DataFrame(
        [
            {"customer_id": c, "date": d, "product_line_id": pl, "manager_id": m, "amount": units(a)}
            for c, d, pl, m, a in rows
        ],
        columns=["customer_id", "date", "product_line_id", "manager_id", "amount"],
    )


# (customer, date, product line, manager on the line, amount)
HISTORY = [
    (2, date(2023, 1, 10), L10, M1, "200"),
    (6, date(2022, 1, 1), L10, M1, "80"),
    (7, date(2021, 6, 1), L10, M1, "10"),
    (8, date(2022, 5, 1), L20, M2, "60"),
]
IN_PERIOD = [
    # c1: first day 5 Apr in two lines (both primary), a repeat, a return (negative,
    # repeat), a first "no line" sale later (new direction), then a repeat of it
    (1, date(2024, 4, 5), L10, M1, "100.00"),
    (1, date(2024, 4, 5), L20, M1, "50.00"),
    (1, date(2024, 5, 10), L10, M1, "30.00"),
    (1, date(2024, 5, 10), L20, M1, "-20.00"),
    (1, date(2024, 6, 1), None, M1, "40.00"),
    (1, date(2024, 6, 2), None, M1, "5.00"),
    # ... and a repeat recorded by the other manager
    (1, date(2024, 6, 20), L10, M2, "10.00"),
    # c2 (assigned to M1, first day in 2023): a repeat recorded for M2; a return that is
    # its first day in line 20, so new direction (negative lines follow the same rule)
    (2, date(2024, 4, 20), L10, M2, "70.00"),
    (2, date(2024, 5, 5), L20, M1, "-10.00"),
    # c4 (M2's, created in the period): first-ever line
    (4, date(2024, 6, 10), L10, M2, "300.00"),
]
CUSTOMERS = pd.DataFrame(
    [
        (1, M1, date(2023, 1, 1)),
        (2, M1, date(2022, 1, 1)),
        (3, M2, date(2024, 5, 1)),
        (4, M2, date(2024, 4, 15)),
        (5, None, date(2024, 6, 30)),
        (6, M1, date(2021, 1, 1)),
        (7, M1, date(2021, 1, 1)),
        (8, M2, date(2021, 1, 1)),
        (9, M2, date(2024, 7, 1)),  # created after E: counts nowhere
    ],
    columns=["customer_id", "manager_id", "created"],
)
SNAP_START = pd.DataFrame(  # as of 31 March 2024 (S - 1)
    [
        (1, "potential", "", ""),
        (2, "regular", "A", "Z"),
        (6, "regular", "A", "X"),
        (7, "lost", "C", "Z"),
        (8, "lost", "B", "Z"),
    ],
    columns=["customer_id", "status", "abc", "xyz"],
)
SNAP_END = pd.DataFrame(  # as of 30 June 2024 (E)
    [
        (1, "new", "A", ""),
        (2, "regular", "A", "Z"),
        (3, "potential", "", ""),
        (4, "new", "B", ""),
        (5, "potential", "", ""),
        (6, "lost", "", ""),
        (7, "lost", "C", "Z"),
        (8, "restored", "B", "Y"),
    ],
    columns=["customer_id", "status", "abc", "xyz"],
)


def first_frames(rows):
    frame = lines_frame(rows)
    firsts = frame.groupby("customer_id", as_index=False)["date"].min().rename(columns={"date": "first_date"})
    keyed = frame.assign(product_line_id=frame["product_line_id"].astype("float"))
    per_line = (
        keyed.groupby(["customer_id", "product_line_id"], dropna=False, as_index=False)["date"]
        .min()
        .rename(columns={"date": "first_date"})
    )
    return firsts, per_line


def scenario(start=S, end=E, snap_start=SNAP_START, snap_end=SNAP_END):
    all_rows = HISTORY + IN_PERIOD
    firsts, per_line = first_frames([r for r in all_rows if r[1] <= end])
    period_lines = lines_frame([r for r in all_rows if start <= r[1] <= end])
    return kpis.compute(
        lines=period_lines,
        first_days=firsts,
        first_line_days=per_line,
        customers=CUSTOMERS,
        snap_start=snap_start,
        snap_end=snap_end,
        start=start,
        end=end,
    )


@pytest.fixture
def table():
    facts, _ = scenario()
    return kpis.manager_table(facts, teams={M1: "North", M2: "North"})


def row(table, key):
    return table.loc[key].to_dict()


def test_sale_categories_per_line():
    firsts, per_line = first_frames(HISTORY + IN_PERIOD)
    got = kpis.categorise(lines_frame(IN_PERIOD), firsts, per_line)["category"].tolist()
    assert got == [
        "primary",
        "primary",
        "repeat",
        "repeat",
        "new_direction",
        "repeat",
        "repeat",
        "repeat",
        "new_direction",
        "primary",
    ]


def test_manager_one(table):
    assert row(table, M1) == {
        "potential": 0,
        "primary_customers": 1,
        "primary_amount": units("150"),
        # c1's 30 - 20 + 5; the 10 recorded by M2 is M2's
        "repeat_customers": 1,
        "repeat_amount": units("15"),
        # c1's 40 and c2's return of -10
        "new_direction_customers": 2,
        "new_direction_amount": units("30"),
        "created": 0,
        "converted": 0,
        "conversion": None,
        "regular": 1,
        "new": 1,
        "restored": 0,
        "lost": 1,  # c6; c7 was lost already at S
        "class_changes": 2,  # c1 (none -> A), c6 (AX -> none)
    }


def test_manager_two_gets_the_lines_recorded_for_them(table):
    assert row(table, M2) == {
        "potential": 1,  # c3
        "primary_customers": 1,
        "primary_amount": units("300"),
        "repeat_customers": 2,
        "repeat_amount": units("80"),  # c2's 70 and c1's 10
        "new_direction_customers": 0,
        "new_direction_amount": 0,
        "created": 2,
        "converted": 1,
        "conversion": Decimal("0.5000"),  # c3, c4; c4 bought
        "regular": 0,
        "new": 1,
        "restored": 1,  # c4 new, c8 lost at S and restored at E
        "lost": 0,
        "class_changes": 2,  # c4 (none -> B), c8 (BZ -> BY)
    }


def test_unassigned_row_and_total_counts_distinct_customers(table):
    assert row(table, kpis.UNASSIGNED)["potential"] == 1
    assert row(table, kpis.UNASSIGNED)["created"] == 1
    assert row(table, kpis.UNASSIGNED)["conversion"] == Decimal("0")
    total = row(table, "TOTAL")
    # c1 has repeat lines by both managers: one customer in the total, not two
    assert total["repeat_customers"] == 2
    assert total["repeat_amount"] == units("95")
    assert total["primary_customers"] == 2 and total["primary_amount"] == units("450")
    assert total["new_direction_customers"] == 2 and total["new_direction_amount"] == units("30")
    assert (total["potential"], total["created"], total["converted"]) == (2, 3, 1)
    assert total["conversion"] == Decimal("0.3333")
    assert (total["regular"], total["new"], total["restored"], total["lost"], total["class_changes"]) == (1, 2, 1, 1, 4)
    team = row(table, "team:North")
    assert (team["repeat_customers"], team["potential"], team["created"], team["conversion"]) == (
        2,
        1,
        2,
        Decimal("0.5000"),
    )


def test_no_unassigned_row_when_it_has_nothing():
    customers = CUSTOMERS[CUSTOMERS["manager_id"].notna()]
    all_rows = HISTORY + IN_PERIOD
    firsts, per_line = first_frames(all_rows)
    facts, _ = kpis.compute(
        lines=lines_frame([r for r in IN_PERIOD]),
        first_days=firsts,
        first_line_days=per_line,
        customers=customers,
        snap_start=SNAP_START,
        snap_end=SNAP_END,
        start=S,
        end=E,
    )
    assert list(kpis.manager_table(facts).index) == [M1, M2, "TOTAL"]


def test_by_customer_table():
    _, by_customer = scenario()
    c1 = by_customer.set_index("customer_id").loc[1].to_dict()
    assert c1 == {
        "manager_id": M1,
        "status_start": "potential",
        "status_end": "new",
        "abc_start": "",
        "abc_end": "A",
        "xyz_start": "",
        "xyz_end": "",
        "primary_amount": units("150"),
        "repeat_amount": units("25"),  # whoever recorded them
        "new_direction_amount": units("40"),
    }
    c8 = by_customer.set_index("customer_id").loc[8].to_dict()
    assert (c8["status_start"], c8["status_end"], c8["xyz_start"], c8["xyz_end"]) == ("lost", "restored", "Z", "Y")
    assert 9 not in set(by_customer["customer_id"])


def test_consecutive_periods_count_each_change_once():
    # x turns lost (and A -> B) at the end of Q1, y turns lost at the end of Q2
    customers = pd.DataFrame(
        [(1, M1, date(2020, 1, 1)), (2, M1, date(2020, 1, 1))], columns=["customer_id", "manager_id", "created"]
    )
    history = [(1, date(2021, 1, 1), L10, M1, "5"), (2, date(2021, 1, 1), L10, M1, "5")]
    firsts, per_line = first_frames(history)
    snap = {
        date(2023, 12, 31): [(1, "regular", "A", "Z"), (2, "regular", "B", "Z")],
        date(2024, 3, 31): [(1, "lost", "B", "Z"), (2, "regular", "B", "Z")],
        date(2024, 6, 30): [(1, "lost", "B", "Z"), (2, "lost", "B", "Z")],
    }

    def run(start, end, before):
        facts, _ = kpis.compute(
            lines=lines_frame([]),
            first_days=firsts,
            first_line_days=per_line,
            customers=customers,
            snap_start=pd.DataFrame(snap[before], columns=["customer_id", "status", "abc", "xyz"]),
            snap_end=pd.DataFrame(snap[end], columns=["customer_id", "status", "abc", "xyz"]),
            start=start,
            end=end,
        )
        total = kpis.manager_table(facts).loc["TOTAL"]
        return total["lost"], total["class_changes"]

    q1 = run(date(2024, 1, 1), date(2024, 3, 31), date(2023, 12, 31))
    q2 = run(date(2024, 4, 1), date(2024, 6, 30), date(2024, 3, 31))
    assert q1 == (1, 1)
    assert q2 == (1, 0)


def test_the_snapshot_at_start_is_the_day_before():
    assert kpis.Period.of(S, E).snapshot_start == pd.Timestamp(2024, 3, 31)


def test_empty_data_gives_zeros_not_errors():
    empty_customers = pd.DataFrame(columns=["customer_id", "manager_id", "created"])
    firsts, per_line = first_frames([])
    facts, by_customer = kpis.compute(
        lines=lines_frame([]),
        first_days=firsts,
        first_line_days=per_line,
        customers=empty_customers,
        snap_start=None,
        snap_end=None,
        start=S,
        end=E,
    )
    table = kpis.manager_table(facts, teams={})
    assert list(table.index) == ["TOTAL"]
    total = table.loc["TOTAL"].to_dict()
    assert total.pop("conversion") is None
    assert set(total.values()) == {0}
    assert by_customer.empty


def test_plan_percentages():
    assert kpis.plan_percentage(units("450"), units("600")) == Decimal("75.0")
    assert kpis.plan_percentage(1, 3) == Decimal("33.3")
    assert kpis.plan_percentage(units("-10"), units("100")) == Decimal("-10.0")
    assert kpis.plan_percentage(5, None) is None
    assert kpis.plan_percentage(5, 0) is None


def test_amounts_are_written_as_plain_decimals():
    assert kpis.plain_decimal(units("1234.5")) == "1234.5000"
    assert kpis.plain_decimal(0) == "0.0000"
    assert kpis.plain_decimal(units("-0.0001")) == "-0.0001"
