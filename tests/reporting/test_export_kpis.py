"""`manage.py export_kpis`: the fixed columns, the hand-worked figures, plain decimals."""

import csv

import pytest
from django.core.management import CommandError, call_command

from reporting.models import KpiFact, KpiPeriod
from segmentation.models import RecomputeRun
from tests.reporting.scenario import END, EXPECTED_MANAGERS, START, build


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def ledger(mgr_a, mgr_b, mgr_c):
    return build(mgr_a, mgr_b, mgr_c)


def test_by_manager_has_exactly_the_issues_columns_and_the_hand_worked_figures(ledger, tmp_path):
    out = tmp_path / "managers.csv"
    call_command("export_kpis", str(out), "--start", str(START), "--end", str(END), "--by", "manager")
    header, *rows = read(out)
    assert header == [
        "manager", "potential", "primary_customers", "primary_amount", "repeat_customers", "repeat_amount",
        "new_direction_customers", "new_direction_amount", "created", "converted", "conversion", "regular",
        "new", "restored", "lost", "class_changes",
    ]  # fmt: skip
    assert {row[0]: row[1:] for row in rows} == EXPECTED_MANAGERS
    assert rows[-1][0] == "TOTAL"
    # the snapshots as of S - 1 and E were computed on demand
    assert set(RecomputeRun.objects.values_list("as_of", flat=True)) == {date_before(START), END}


def date_before(day):
    from datetime import timedelta

    return day - timedelta(days=1)


def test_by_customer(ledger, tmp_path):
    out = tmp_path / "customers.csv"
    call_command("export_kpis", str(out), "--start", str(START), "--end", str(END), "--by", "customer")
    header, *rows = read(out)
    assert header == [
        "customer", "manager", "status_start", "status_end", "abc_start", "abc_end", "xyz_start", "xyz_end",
        "primary_amount", "repeat_amount", "new_direction_amount",
    ]  # fmt: skip
    assert {row[0]: row[1:] for row in rows} == {
        "A": ["mgr_a", "lost", "restored", "", "B", "", "Z", "0.0000", "50.0000", "30.0000"],
        "B": ["mgr_a", "lost", "lost", "B", "A", "Z", "Z", "0.0000", "0.0000", "0.0000"],
        "C": ["mgr_b", "new", "lost", "A", "A", "", "Z", "0.0000", "0.0000", "0.0000"],
        "D": ["mgr_c", "", "new", "", "C", "", "", "70.0000", "0.0000", "0.0000"],
        "E": ["", "", "potential", "", "", "", "", "0.0000", "0.0000", "0.0000"],
        "F": ["mgr_b", "", "potential", "", "", "", "", "0.0000", "0.0000", "0.0000"],
    }


def test_running_it_twice_keeps_one_set_of_rows(ledger, tmp_path):
    for _ in range(2):
        call_command("export_kpis", str(tmp_path / "x.csv"), "--start", str(START), "--end", str(END))
    assert KpiPeriod.objects.count() == 1
    # by hand: 3 line-based; potential 2, created 3, converted 1, new 1, restored 1, lost 1, class changes 4
    assert KpiFact.objects.count() == 16


def test_a_period_ending_after_today_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="after today"):
        call_command("export_kpis", str(tmp_path / "x.csv"), "--start", "2024-01-01", "--end", "2999-01-01")
    with pytest.raises(CommandError, match="after --end"):
        call_command("export_kpis", str(tmp_path / "x.csv"), "--start", "2024-02-01", "--end", "2024-01-01")
