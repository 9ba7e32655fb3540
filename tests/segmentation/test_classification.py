import math
import random
import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from segmentation.classification import (
    INPUT_COLUMNS,
    OUTPUT_COLUMNS,
    ClassificationParams,
    aggregate_lines,
    boundaries,
    bucket_columns,
    classify,
    months_before,
    second_purchase_nudge,
)

# D - P = 2024-03-15, D - 2P = 2023-12-15, window start = 2023-06-15
D = date(2024, 6, 15)
PARAMS = ClassificationParams()
LONG_AGO = date(2020, 1, 1)


def customer(customer_id, *, revenue=None, margin=None, buckets=(), bucket_count=12, **fields):
    """One input row for a long-standing customer who bought today; override any field."""
    buckets = list(buckets) + [0] * (bucket_count - len(buckets))
    revenue = sum(buckets) if revenue is None else revenue
    row = {
        "customer_id": customer_id,
        "first_date": LONG_AGO,
        "last_date_window": D,
        "days_window": 1,
        "revenue_window": revenue,
        "margin_window": revenue if margin is None else margin,
        "lines_p0": 1,
        "lines_p1": 1,
    }
    row.update(fields)
    row.update({f"bucket_{k}": cents for k, cents in enumerate(buckets)})
    return row


def classified(*rows, params=PARAMS, potential_ids=()):
    columns = [*INPUT_COLUMNS, *bucket_columns(params)]
    frame = pd.DataFrame(list(rows), columns=columns)
    return classify(frame, as_of=D, params=params, potential_ids=potential_ids)


def classified_lines(*lines, params=PARAMS, as_of=D):
    """Classify raw (customer_id, date, amount_cents) lines through aggregate_lines."""
    frame = pd.DataFrame(lines, columns=["customer_id", "date", "amount_cents"])
    frame["cost_cents"] = None
    return classify(aggregate_lines(frame, as_of=as_of, params=params), as_of=as_of, params=params)


def monthly(customer_id, first_month_ago, cents, *, day=D):
    """One line a month from `first_month_ago` months before `day` up to `day`."""
    return [(customer_id, months_before(day, k), cents) for k in range(first_month_ago, -1, -1)]


# months_before and boundaries


def test_months_before_clips_to_the_end_of_a_shorter_month():
    # when / then
    assert months_before(date(2023, 5, 31), 3) == date(2023, 2, 28)
    assert months_before(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)


def test_months_before_moves_a_leap_day_to_28_february_unless_the_year_is_leap():
    # when / then
    assert months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)
    assert months_before(date(2024, 2, 29), 48) == date(2020, 2, 29)


def test_months_before_crosses_year_ends_and_zero_is_identity():
    # when / then
    assert months_before(date(2024, 1, 15), 1) == date(2023, 12, 15)
    assert months_before(date(2024, 1, 15), 25) == date(2021, 12, 15)
    assert months_before(date(2024, 1, 15), 0) == date(2024, 1, 15)


def test_boundaries_count_every_edge_from_d_so_clipping_does_not_accumulate():
    # given the last day of May
    as_of = date(2024, 5, 31)

    # when
    bounds = boundaries(as_of, PARAMS)

    # then 31 May - 4 months is 31 Jan, not 29 Jan as stepping via 29 Feb would give
    assert bounds.as_of == as_of
    assert bounds.window_start == date(2023, 5, 31)
    assert bounds.bucket_edges[:5] == (
        date(2024, 5, 31),
        date(2024, 4, 30),
        date(2024, 3, 31),
        date(2024, 2, 29),
        date(2024, 1, 31),
    )
    assert len(bounds.bucket_edges) == 13
    assert bounds.bucket_edges[-1] == bounds.window_start
    assert bounds.period_edges == (date(2024, 5, 31), date(2024, 2, 29), date(2023, 11, 30))


def test_boundaries_with_quarterly_buckets_have_four_buckets():
    # given
    params = ClassificationParams(xyz_bucket_months=3)

    # when
    bounds = boundaries(D, params)

    # then
    assert bounds.bucket_edges == (
        date(2024, 6, 15),
        date(2024, 3, 15),
        date(2023, 12, 15),
        date(2023, 9, 15),
        date(2023, 6, 15),
    )
    assert bucket_columns(params) == ["bucket_0", "bucket_1", "bucket_2", "bucket_3"]


def test_params_refuse_a_window_not_divisible_by_the_bucket_and_an_unknown_basis():
    # when / then
    with pytest.raises(ValueError):
        ClassificationParams(window_months=12, xyz_bucket_months=5)
    with pytest.raises(ValueError):
        ClassificationParams(abc_basis="profit")


# aggregate_lines


def test_aggregate_lines_puts_lines_on_an_edge_into_the_older_interval():
    # given lines exactly on D - P, D - 2P and the window start, and one after D
    lines = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 1, 1, 1],
            "date": [
                date(2023, 6, 15),  # window start: outside the window
                date(2023, 6, 16),  # oldest bucket
                date(2023, 12, 15),  # D - 2P: period j = 2
                date(2024, 3, 15),  # D - P: period j = 1
                date(2024, 3, 16),  # period j = 0
                date(2024, 6, 15),  # D itself
                date(2024, 6, 16),  # after D: ignored
            ],
            "amount_cents": [1, 10, 100, 1000, 10000, 100000, 1000000],
            "cost_cents": [None, 5, None, 500, None, None, None],
        }
    )

    # when
    row = aggregate_lines(lines, as_of=D, params=PARAMS).iloc[0]

    # then a line without cost counts its whole amount as margin
    assert row["first_date"] == pd.Timestamp(2023, 6, 15)
    assert row["last_date_window"] == pd.Timestamp(2024, 6, 15)
    assert (row["days_window"], row["lines_p0"], row["lines_p1"]) == (5, 2, 1)
    assert row["revenue_window"] == 111110
    assert row["margin_window"] == 111110 - 5 - 500
    assert row["bucket_11"] == 10
    assert row["bucket_6"] == 100
    assert row["bucket_3"] == 1000
    assert row["bucket_2"] == 10000
    assert row["bucket_0"] == 100000


def test_aggregate_lines_counts_distinct_days_and_nets_returns():
    # given two lines on one day and a return on another
    lines = pd.DataFrame(
        {
            "customer_id": [4, 4, 4],
            "date": [date(2024, 6, 1), date(2024, 6, 1), date(2024, 6, 2)],
            "amount_cents": [500, 300, -200],
            "cost_cents": [100, 100, -50],
        }
    )

    # when
    row = aggregate_lines(lines, as_of=D, params=PARAMS).iloc[0]

    # then
    assert row["days_window"] == 2
    assert row["revenue_window"] == 600
    assert row["margin_window"] == 600 - 150
    assert row["bucket_0"] == 600


# lifecycle status


def test_a_customer_without_lines_is_potential_and_has_no_figures():
    # when
    out = classified(potential_ids=[5])

    # then
    row = out.loc[5]
    assert row["status"] == "potential"
    assert row["abc"] is None and row["xyz"] is None and row["rfm_segment"] is None
    for column in ("value", "recency", "frequency", "monetary", "r", "f", "m", "cooperation_days"):
        assert row[column] is pd.NA
    assert math.isnan(row["cov"])


def test_a_potential_id_that_has_lines_is_classified_from_its_lines():
    # given customer 1 in the frame and also, wrongly, among the potential ids
    rows = [customer(1, buckets=[100]), customer(3, buckets=[100])]

    # when
    out = classified(*rows, potential_ids=[2, 1])

    # then
    assert out.index.tolist() == [1, 2, 3]
    assert out["status"].tolist() == ["regular", "potential", "regular"]
    assert list(out.columns) == list(OUTPUT_COLUMNS)


def test_adding_potential_customers_keeps_money_beyond_float_precision_exact():
    # given a sum of 2**60 + 1 units, which a float64 would round to 2**60
    huge = 2**60 + 1
    rows = [customer(1, buckets=[huge]), customer(2, buckets=[1])]

    # when potential customers are added beside them
    out = classified(*rows, potential_ids=[3])

    # then the figures are still the exact integers
    assert int(out.loc[1, "value"]) == huge and int(out.loc[1, "monetary"]) == huge
    assert out.loc[3, "status"] == "potential"


def test_first_line_just_inside_the_current_period_makes_a_new_customer_without_xyz():
    # given a first line one day after D - P
    lines = monthly(1, 12, 1000) + [(2, date(2024, 3, 16), 10000)]

    # when
    out = classified_lines(*lines)

    # then
    assert out.loc[2, "status"] == "new"
    assert out.loc[2, "abc"] == "B"
    assert out.loc[2, "xyz"] is None
    assert out.loc[2, "cooperation_days"] == 91


def test_a_customer_whose_only_line_is_exactly_at_the_period_edge_is_lost_not_new():
    # given a single line on D - P, which belongs to the previous period
    lines = [(1, date(2024, 3, 15), 10000)]

    # when
    out = classified_lines(*lines)

    # then
    assert out.loc[1, "status"] == "lost"
    assert out.loc[1, "abc"] == "A"
    assert out.loc[1, "xyz"] == "Z"


def test_a_line_dated_d_counts_and_a_line_after_d_does_not():
    # given
    lines = [(1, D, 10000), (2, D + timedelta(days=1), 10000)]

    # when
    out = classified_lines(*lines)

    # then customer 2 has no line up to D, so aggregate_lines leaves it out
    assert out.index.tolist() == [1]
    assert out.loc[1, "status"] == "new"


def test_lines_in_both_periods_with_an_older_first_line_make_a_regular_customer():
    # given first line one day inside the previous period, then a line now
    lines = [(1, date(2023, 12, 16), 100), (1, date(2024, 6, 1), 100)]

    # when
    out = classified_lines(*lines)

    # then
    assert out.loc[1, "status"] == "regular"


def test_a_customer_back_after_a_silent_previous_period_is_restored():
    # given a first line exactly on D - 2P (period j = 2) and a line now
    lines = [(1, date(2023, 12, 15), 100), (1, date(2024, 6, 1), 100)]

    # when
    out = classified_lines(*lines)

    # then
    assert out.loc[1, "status"] == "restored"


def test_a_customer_with_lines_before_but_none_now_is_lost():
    # given lines in j = 2 and j = 1 only
    lines = [(1, date(2023, 10, 1), 100), (1, date(2024, 3, 15), 100)]

    # when
    out = classified_lines(*lines)

    # then
    assert out.loc[1, "status"] == "lost"


def test_contradictory_period_counts_still_give_exactly_one_status():
    # given lines now, none counted in j = 1, yet the first line lies in j = 1
    row = customer(1, buckets=[100], first_date=date(2024, 1, 1), lines_p0=2, lines_p1=0)

    # when
    out = classified(row)

    # then the first line itself is a purchase in j = 1
    assert out.loc[1, "status"] == "regular"


# ABC


def test_the_customer_crossing_50_percent_is_still_a_and_the_next_one_is_b():
    # given shares 40 %, 30 %, 20 %, 10 %
    rows = [customer(i, revenue=v) for i, v in [(1, 40), (2, 30), (3, 20), (4, 10)]]

    # when
    out = classified(*rows)

    # then
    assert out["abc"].tolist() == ["A", "A", "B", "C"]
    assert out["value"].tolist() == [40, 30, 20, 10]


def test_a_customer_with_exactly_50_percent_before_it_is_b():
    # given shares before: 0 %, exactly 50 %, exactly 80 %
    rows = [customer(1, revenue=50), customer(2, revenue=30), customer(3, revenue=20)]

    # when
    out = classified(*rows)

    # then
    assert out["abc"].tolist() == ["A", "B", "C"]


def test_abc_is_exact_a_hair_below_a_threshold():
    # given 50 % minus one cent in 10^18 before customer 2 (a float would round it to 50 %)
    rows = [
        customer(1, revenue=5 * 10**17 - 1),
        customer(2, revenue=3 * 10**17),
        customer(3, revenue=2 * 10**17 + 1),
    ]

    # when
    out = classified(*rows)

    # then
    assert out["abc"].tolist() == ["A", "A", "B"]


def test_ties_in_value_are_ordered_by_customer_id():
    # given two customers with the same value
    rows = [customer(7, revenue=50), customer(3, revenue=50)]

    # when
    out = classified(*rows)

    # then the lower id comes first and holds the first half
    assert out.loc[3, "abc"] == "A"
    assert out.loc[7, "abc"] == "B"


def test_the_largest_customer_is_always_a_even_when_it_dwarfs_everyone():
    # given
    rows = [customer(1, revenue=1), customer(2, revenue=10**9), customer(3, revenue=2)]

    # when
    out = classified(*rows)

    # then
    assert out["abc"].tolist() == ["C", "A", "C"]


def test_zero_or_negative_value_gets_no_abc_and_no_xyz_and_does_not_count_in_the_total():
    # given
    rows = [customer(1, revenue=0), customer(2, buckets=[-500]), customer(3, revenue=100)]

    # when
    out = classified(*rows)

    # then
    assert out["abc"].tolist() == [None, None, "A"]
    assert out["xyz"].tolist()[:2] == [None, None]
    assert out["value"].tolist() == [0, -500, 100]


def test_margin_basis_ranks_by_margin_while_rfm_monetary_stays_revenue():
    # given a big-revenue thin-margin customer and a smaller fat-margin one
    rows = [customer(1, revenue=100, margin=10), customer(2, revenue=50, margin=40)]
    params = ClassificationParams(abc_basis="margin")

    # when
    out = classified(*rows, params=params)

    # then 10 / 50 = 20 % is left for customer 1, whose share before is 80 %
    assert out["abc"].tolist() == ["C", "A"]
    assert out["value"].tolist() == [10, 40]
    assert out["monetary"].tolist() == [100, 50]


# XYZ


def test_a_customer_exactly_at_10_percent_is_x():
    # given months alternating 90 and 110: mean 100, population std 10
    row = customer(1, buckets=[9000, 11000] * 6)

    # when
    out = classified(row)

    # then
    assert out.loc[1, "xyz"] == "X"
    assert out.loc[1, "cov"] == pytest.approx(0.10)


def test_a_customer_just_above_10_percent_is_y_and_just_above_25_percent_is_z():
    # given CoV of 10.0004 %, exactly 25 % and 25.0004 %
    rows = [
        customer(1, buckets=[90000, 110001] * 6),
        customer(2, buckets=[7500, 12500] * 6),
        customer(3, buckets=[75000, 125001] * 6),
    ]

    # when
    out = classified(*rows)

    # then
    assert out["xyz"].tolist() == ["Y", "Y", "Z"]


def test_a_customer_with_a_non_positive_mean_is_z():
    # given a positive margin but revenue that a return brought to zero
    row = customer(1, margin=500, buckets=[-1000, 0, 1000])
    params = ClassificationParams(abc_basis="margin")

    # when
    out = classified(row, params=params)

    # then
    assert out.loc[1, "abc"] == "A"
    assert out.loc[1, "xyz"] == "Z"
    assert math.isnan(out.loc[1, "cov"])


def test_the_series_starts_at_the_bucket_of_the_first_line_inside_the_window():
    # given two customers buying 100 on the 15th of each of the last four months,
    # one starting then (on D - P, so not new) and one with a line years ago
    lines = monthly(1, 3, 10000) + monthly(2, 3, 10000) + [(2, LONG_AGO, 10000)]

    # when
    out = classified_lines(*lines)

    # then only the old customer has eight empty months in its series
    assert out.loc[1, "status"] == "regular"
    assert out.loc[1, "xyz"] == "X"
    assert out.loc[1, "cov"] == 0
    assert out.loc[2, "xyz"] == "Z"
    assert out.loc[2, "cov"] == pytest.approx(math.sqrt(2))


def test_a_series_of_five_buckets_at_exactly_10_percent_is_x():
    # given a first line in bucket 4 and the series 24, 19, 19, 19, 19
    row = customer(1, first_date=date(2024, 2, 1), buckets=[1900, 1900, 1900, 1900, 2400])

    # when
    out = classified(row)

    # then
    assert out.loc[1, "xyz"] == "X"
    assert out.loc[1, "cov"] == pytest.approx(0.10)


def test_quarterly_buckets_smooth_a_customer_who_buys_once_a_quarter():
    # given one purchase of 300 every three months, for years
    lines = [(1, LONG_AGO, 30000)] + [(1, months_before(D, k), 30000) for k in (0, 3, 6, 9)]
    quarterly = ClassificationParams(xyz_bucket_months=3)

    # when
    out_monthly = classified_lines(*lines)
    out_quarterly = classified_lines(*lines, params=quarterly)

    # then
    assert out_monthly.loc[1, "xyz"] == "Z"
    assert out_quarterly.loc[1, "xyz"] == "X"


# RFM


def test_rfm_ties_share_the_lowest_rank_and_scores_follow_the_quintile_formula():
    # given seven customers, two tied on 20
    rows = [customer(i, revenue=v) for i, v in enumerate([10, 20, 20, 30, 40, 50, 60], start=1)]

    # when
    out = classified(*rows)

    # then ranks 1, 2, 2, 4, 5, 6, 7 give 1 + floor(5 (r - 1) / 7)
    assert out["m"].tolist() == [1, 1, 1, 3, 3, 4, 5]
    assert out["monetary"].tolist() == [10, 20, 20, 30, 40, 50, 60]


def test_rfm_scores_recency_smallest_best_and_frequency_largest_best():
    # given
    rows = [
        customer(1, last_date_window=date(2024, 6, 14), days_window=3),
        customer(2, last_date_window=date(2024, 1, 1), days_window=1),
        customer(3, last_date_window=D, days_window=3),
        customer(4, last_date_window=D, days_window=8),
        customer(5, last_date_window=date(2024, 6, 1), days_window=2),
    ]

    # when
    out = classified(*rows)

    # then with N = 5 the score is the rank; recency 0 is shared by 3 and 4
    assert out["recency"].tolist() == [1, 166, 0, 0, 14]
    assert out["r"].tolist() == [3, 1, 4, 4, 2]
    assert out["frequency"].tolist() == [3, 1, 3, 8, 2]
    assert out["f"].tolist() == [3, 1, 3, 5, 2]


def test_a_customer_without_lines_in_the_window_gets_no_rfm():
    # given a lost customer whose lines are all before the window
    rows = [
        customer(1, revenue=0, last_date_window=None, days_window=0, lines_p0=0, lines_p1=0),
        customer(2, revenue=100),
    ]

    # when
    out = classified(*rows)

    # then
    assert out.loc[1, "status"] == "lost"
    assert out.loc[1, "recency"] is pd.NA
    assert out.loc[1, "r"] is pd.NA
    assert out.loc[1, "rfm_segment"] is None
    assert out.loc[1, "cooperation_days"] == (D - LONG_AGO).days
    assert out.loc[2, "r"] == 1


def test_activity_segments_split_on_frequency_recency_and_top_scores():
    # given (with N = 5 the scores equal the ranks); "recent" means after D - P
    rows = [
        customer(1, days_window=1, revenue=10, last_date_window=date(2024, 6, 14)),
        customer(2, days_window=1, revenue=20, last_date_window=date(2024, 3, 15)),
        customer(3, days_window=9, revenue=1000, last_date_window=D),
        customer(4, days_window=2, revenue=950, last_date_window=date(2024, 3, 16)),
        customer(5, days_window=5, revenue=30, last_date_window=date(2024, 1, 1)),
    ]

    # when
    out = classified(*rows)

    # then
    assert out["f"].tolist() == [1, 1, 5, 3, 4]
    assert out["m"].tolist() == [1, 2, 5, 4, 3]
    assert out["rfm_segment"].tolist() == ["newcomer", "one-time", "vip", "growing", "sleeping"]


def test_top_frequency_or_top_spend_alone_is_not_vip():
    # given
    rows = [
        customer(1, days_window=2, revenue=10),
        customer(2, days_window=3, revenue=20),
        customer(3, days_window=4, revenue=30),
        customer(4, days_window=5, revenue=1000),
        customer(5, days_window=9, revenue=40),
    ]

    # when
    out = classified(*rows)

    # then
    assert out.loc[4, ["f", "m"]].tolist() == [4, 5]
    assert out.loc[5, ["f", "m"]].tolist() == [5, 4]
    assert set(out["rfm_segment"]) == {"growing"}


# input handling


def test_classify_accepts_decimal_sums_and_timestamps_as_the_database_returns_them():
    # given
    row = customer(1, buckets=[100])
    row.update(
        revenue_window=Decimal(100),
        margin_window=Decimal(100),
        bucket_0=Decimal(100),
        first_date=pd.Timestamp(LONG_AGO),
        last_date_window=pd.Timestamp(D),
    )

    # when
    out = classified(row)

    # then
    assert out.loc[1, ["status", "abc", "value", "recency"]].tolist() == ["regular", "A", 100, 0]


def test_classify_refuses_missing_columns_and_duplicate_customers():
    # given
    frame = pd.DataFrame([customer(1, buckets=[100]), customer(1, buckets=[100])])

    # when / then
    with pytest.raises(ValueError, match="bucket_0"):
        classify(frame.drop(columns="bucket_0"), as_of=D, params=PARAMS)
    with pytest.raises(ValueError, match="duplicate"):
        classify(frame, as_of=D, params=PARAMS)


# second-purchase nudge


def test_nudge_lists_one_purchase_customers_from_7_days_before_the_median_to_one_period_past_it():
    # given gaps 10, 20, 40 days (median 20) and one period of 92 days before D
    def ago(days):
        return D - timedelta(days=days)

    first_second = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 10, 11, 12, 13, 14],
            "first_date": [ago(100), ago(100), ago(100), ago(12), ago(13), ago(112), ago(113), ago(50)],
            "second_date": [ago(90), ago(80), ago(60), None, None, None, None, D + timedelta(days=1)],
        }
    )

    # when
    median, listed = second_purchase_nudge(first_second, as_of=D, period_months=3)

    # then a second purchase after D does not count yet
    assert median == 20.0
    assert listed["customer_id"].tolist() == [11, 12, 14]
    assert listed["age_days"].tolist() == [13, 112, 50]


def test_nudge_without_any_second_purchase_has_no_median_and_lists_nobody():
    # given
    first_second = pd.DataFrame({"customer_id": [1], "first_date": [D], "second_date": [None]})

    # when
    median, listed = second_purchase_nudge(first_second, as_of=D, period_months=3)

    # then
    assert median is None
    assert listed.empty
    assert list(listed.columns) == ["customer_id", "first_date", "age_days"]


# randomized cross-check against a plain re-reading of domain.md


def _minus_months(d, k):
    return (pd.Timestamp(d) - pd.DateOffset(months=k)).date()


def _random_lines(rng, as_of, customers=200):
    """Raw lines (customer_id, date, amount, cost) of many shapes, with many on edges."""
    edges = [_minus_months(as_of, k) for k in range(0, 25)]
    near_edges = [e + timedelta(days=s) for e in edges for s in (-1, 0, 1)]

    def some_day(months_back):
        if rng.random() < 0.3:
            return rng.choice([e for e in near_edges if e >= _minus_months(as_of, months_back)])
        return as_of - timedelta(days=rng.randint(0, months_back * 31))

    lines = []
    for cid in range(1, customers + 1):
        shape = rng.choice(["steady", "lumpy", "lumpy", "old", "future", "returns", "one"])
        if shape == "steady":
            base = rng.randint(1000, 100000)
            for k in range(rng.randint(0, 14), -1, -1):
                day = _minus_months(as_of, k) - timedelta(days=rng.randint(0, 2))
                lines.append((cid, day, base + rng.randint(-base // 6, base // 6), None))
        elif shape in ("lumpy", "returns", "one"):
            for _ in range(1 if shape == "one" else rng.randint(1, 25)):
                amount = rng.randint(-5000 if shape == "returns" else 1, 500000)
                cost = None if rng.random() < 0.3 else rng.randint(min(0, amount), abs(amount))
                lines.append((cid, some_day(20), amount, cost))
        elif shape == "old":
            lines.append((cid, as_of - timedelta(days=rng.randint(400, 900)), rng.randint(1, 9999), 0))
        if shape == "future" or rng.random() < 0.1:
            lines.append((cid, as_of + timedelta(days=rng.randint(1, 60)), rng.randint(1, 9999), None))
    return lines


def _reference(lines, as_of, params):
    """The input frame and expected outputs, by loops over the lines."""
    n = params.window_months // params.xyz_bucket_months
    edges = [_minus_months(as_of, k * params.xyz_bucket_months) for k in range(n + 1)]
    start = edges[-1]
    p1, p2 = (_minus_months(as_of, j * params.period_months) for j in (1, 2))
    per_customer = defaultdict(list)
    for cid, day, amount, cost in lines:
        if day <= as_of:
            per_customer[cid].append((day, amount, amount - (cost or 0)))

    rows, expected = [], {}
    for cid in sorted(per_customer):
        own = per_customer[cid]
        window = [line for line in own if line[0] > start]
        first = min(day for day, _, _ in own)
        row = {
            "customer_id": cid,
            "first_date": first,
            "last_date_window": max((day for day, _, _ in window), default=None),
            "days_window": len({day for day, _, _ in window}),
            "revenue_window": sum(a for _, a, _ in window),
            "margin_window": sum(m for _, _, m in window),
            "lines_p0": sum(1 for day, _, _ in own if day > p1),
            "lines_p1": sum(1 for day, _, _ in own if p2 < day <= p1),
        }
        for k in range(n):
            row[f"bucket_{k}"] = sum(a for day, a, _ in window if edges[k + 1] < day <= edges[k])
        rows.append(row)

        if first > p1:
            status = "new"
        elif row["lines_p0"] == 0:
            status = "lost"
        elif row["lines_p1"] > 0:
            status = "regular"
        else:
            assert first <= p2
            status = "restored"
        expected[cid] = {
            "status": status,
            "value": row["revenue_window" if params.abc_basis == "revenue" else "margin_window"],
            "cooperation_days": (as_of - first).days,
        }

    ranked = sorted((c for c in expected if expected[c]["value"] > 0), key=lambda c: (-expected[c]["value"], c))
    total = sum(expected[c]["value"] for c in ranked)
    before = 0
    for cid in ranked:
        share = Fraction(before, total)
        a, b = Fraction(params.abc_a), Fraction(params.abc_b)
        expected[cid]["abc"] = "A" if share < a else "B" if share < b else "C"
        before += expected[cid]["value"]

    for row in rows:
        cid, out = row["customer_id"], expected[row["customer_id"]]
        out.setdefault("abc", None)
        out["xyz"], out["cov"] = None, None
        if out["abc"] and out["status"] != "new":
            first_k = n - 1
            for k in range(n):
                if edges[k + 1] < row["first_date"] <= edges[k]:
                    first_k = k
            series = [Fraction(row[f"bucket_{k}"]) for k in range(first_k, -1, -1)]
            mean = statistics.mean(series)
            if mean <= 0:
                out["xyz"] = "Z"
            else:
                variance = statistics.pvariance(series)
                x, y = Fraction(params.xyz_x), Fraction(params.xyz_y)
                out["xyz"] = "X" if variance <= x * x * mean * mean else "Y" if variance <= y * y * mean * mean else "Z"
                out["cov"] = statistics.pstdev([float(v) for v in series]) / float(mean)

    scored = [row for row in rows if row["days_window"] > 0]
    facts = {
        row["customer_id"]: {
            "recency": (as_of - row["last_date_window"]).days,
            "frequency": row["days_window"],
            "monetary": row["revenue_window"],
        }
        for row in scored
    }
    goodness = {
        "r": lambda c: -facts[c]["recency"],
        "f": lambda c: facts[c]["frequency"],
        "m": lambda c: facts[c]["monetary"],
    }
    for cid, fact in facts.items():
        out = expected[cid]
        out.update(fact)
        for score, good in goodness.items():
            rank = 1 + sum(1 for other in facts if good(other) < good(cid))
            out[score] = 1 + 5 * (rank - 1) // len(facts)
        recent = as_of - timedelta(days=fact["recency"]) > p1
        if fact["frequency"] == 1:
            out["rfm_segment"] = "newcomer" if recent else "one-time"
        elif recent:
            out["rfm_segment"] = "vip" if out["f"] == 5 and out["m"] == 5 else "growing"
        else:
            out["rfm_segment"] = "sleeping"
    return rows, expected


def _plain(value):
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


@pytest.mark.parametrize(
    ("as_of", "params"),
    [
        (date(2024, 5, 31), ClassificationParams()),
        (date(2024, 5, 31), ClassificationParams(xyz_bucket_months=3, abc_basis="margin")),
        (
            date(2023, 3, 31),
            ClassificationParams(
                window_months=6,
                period_months=1,
                xyz_bucket_months=2,
                abc_a=Decimal("0.3"),
                abc_b=Decimal("0.6"),
                xyz_x=Decimal("0.2"),
                xyz_y=Decimal("0.5"),
            ),
        ),
    ],
)
def test_random_ledgers_classify_as_a_plain_reading_of_the_rules_says(as_of, params):
    # given 200 random customers' raw lines
    rng = random.Random(20240531)
    lines = _random_lines(rng, as_of)
    expected_rows, expected = _reference(lines, as_of, params)
    every_id = {cid for cid, *_ in lines}
    potential_ids = sorted(every_id - set(expected))
    raw = pd.DataFrame(lines, columns=["customer_id", "date", "amount_cents", "cost_cents"])

    # when
    frame = aggregate_lines(raw, as_of=as_of, params=params)
    out = classify(frame, as_of=as_of, params=params, potential_ids=potential_ids)

    # then the aggregated frame matches row for row
    assert [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")] == expected_rows
    # and so does every classification figure
    assert potential_ids and set(out.loc[potential_ids, "status"]) == {"potential"}
    assert out.index.tolist() == sorted(every_id)
    for cid, want in expected.items():
        got = {column: _plain(out.loc[cid, column]) for column in OUTPUT_COLUMNS}
        want = {column: want.get(column) for column in OUTPUT_COLUMNS}
        got_cov, want_cov = got.pop("cov"), want.pop("cov")
        assert got == want, cid
        assert (got_cov is None and want_cov is None) or got_cov == pytest.approx(want_cov), cid
    # and the random data reached every class
    assert set(out["status"]) == {"potential", "new", "regular", "restored", "lost"}
    assert set(out["xyz"].dropna()) == {"X", "Y", "Z"}
    assert {"newcomer", "one-time", "growing", "sleeping"} <= set(out["rfm_segment"].dropna())
