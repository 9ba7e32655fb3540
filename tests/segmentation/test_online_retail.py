"""Real data through the real commands, checked by an independent implementation.

The UCI Online Retail lines of the 150 lowest CustomerIDs and of the four customers
with a unit price of 0.001 (all their lines, returns included) go through
bench/online_retail_to_csv.py, `import_settlements --create-missing`,
`recompute_segments` and `export_segments` as of 2011-12-09; every column of every
exported customer must equal bench/independent_classification.py's answer computed
straight from the parquet. bench/check_online_retail.py does the same for all 4,372
customers."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command

PARQUET = settings.BASE_DIR.parent / "shared" / "data" / "online-retail" / "online_retail.parquet"
AS_OF = date(2011, 12, 9)
FIRST = 150
# Customers with lines at a unit price of 0.001: amounts with three decimals.
SUB_PENNY = {"13405", "13952", "15618", "16198"}
CUSTOMERS = FIRST + len(SUB_PENNY)


@pytest.fixture(scope="module")
def subset():
    """The first FIRST customer ids by number and SUB_PENNY: their settlement CSV rows
    (through the converter) and their raw lines read independently from the parquet."""
    pytest.importorskip("pyarrow", reason="reading the Online Retail parquet needs pyarrow")
    if not PARQUET.is_file():
        pytest.skip(f"the Online Retail data is not at {PARQUET}")
    from bench.check_online_retail import read_lines
    from bench.online_retail_to_csv import convert

    rows = convert(PARQUET)
    chosen = set(sorted(rows["customer"].unique(), key=int)[:FIRST]) | SUB_PENNY
    return rows[rows["customer"].isin(chosen)], read_lines(PARQUET, customers=chosen)


def test_online_retail_classification_matches_an_independent_computation(db, subset, tmp_path):
    from bench.independent_classification import classify_lines, compare, counts
    from customers.models import Customer
    from sales_pipeline.models import SettlementLine
    from segmentation.models import RecomputeRun

    rows, lines = subset
    settlements, exported = tmp_path / "settlements.csv", tmp_path / "segments.csv"
    rows.to_csv(settlements, index=False)

    # when the file goes through the commands
    call_command("import_settlements", str(settlements), create_missing=True, verbosity=0)
    call_command("recompute_segments", f"--as-of={AS_OF}")
    call_command("export_segments", str(exported), f"--as-of={AS_OF}")

    # then the ledger holds every line with its exact amount, sub-penny ones included
    assert SettlementLine.objects.count() == len(lines) == len(rows)
    assert any(amount != amount.quantize(Decimal("0.01")) for _, _, amount in lines)
    assert sum(SettlementLine.objects.values_list("amount", flat=True)) == sum((a for _, _, a in lines), Decimal(0))
    assert RecomputeRun.objects.get(as_of=AS_OF).customers == CUSTOMERS

    # and every column of every customer equals the independent computation
    from bench.check_online_retail import read_export

    actual = read_export(exported)
    tie_order = dict(Customer.objects.values_list("external_ref", "pk"))
    expected = classify_lines(lines, as_of=AS_OF, tie_order=tie_order)
    assert len(actual) == len(expected) == CUSTOMERS
    assert compare(expected, actual) == []

    # and the subset exercises the rules: every status but potential, A, B and C, RFM segments
    assert set(counts(actual, "status")) == {"new", "regular", "restored", "lost"}
    assert {"A", "B", "C"} <= set(counts(actual, "abc"))
    assert {"growing", "sleeping", "one-time"} <= set(counts(actual, "rfm_segment"))


def test_the_comparison_notices_a_difference(subset):
    from bench.independent_classification import classify_lines, compare

    _, lines = subset
    expected = classify_lines(lines, as_of=AS_OF)
    changed = {customer: dict(row) for customer, row in expected.items()}
    customer = next(c for c, row in changed.items() if row["cov"] is not None)
    changed[customer]["cov"] += 1e-6
    other = next(c for c, row in changed.items() if row["monetary"] is not None and c != customer)
    changed[other]["monetary"] += Decimal("0.0001")
    assert [(c, column) for c, column, _, _ in compare(expected, changed)] == sorted(
        [(customer, "cov"), (other, "monetary")]
    )
