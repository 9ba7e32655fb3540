"""Complaint and satisfaction figures computed on frames (pandas, no Django): the
selectors read the rows, these functions group them."""

from collections import Counter

import numpy as np
import pandas as pd

LOW_SCORE = 3


def composition(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Count and share of complaints per value of `column` (blank: "—"), largest first:
    columns label, count, share (0..1)."""
    if frame.empty:
        return pd.DataFrame({"label": [], "count": [], "share": []})
    # Counted in Python: a few thousand labels, where pandas' value_counts, sort and resets
    # cost about 2 ms a table in fixed overhead (seven tables a page).
    counts = Counter()
    # counted at C speed, the blanks (None, "", NaN) then added up under "—"
    for label, n in Counter(frame[column].tolist()).items():
        counts["—" if label is None or label == "" or label != label else label] += n
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counts.values())
    return pd.DataFrame({
        "label": [label for label, _n in ordered],
        "count": np.array([n for _label, n in ordered], dtype="int64"),
        "share": np.array([n / total for _label, n in ordered], dtype="float64"),
    })


def close_times(frame: pd.DataFrame) -> dict:
    """Days from registration to closing of the closed complaints: count, mean, median, max."""
    # In Python: a few hundred days, where pandas' dropna and to_datetime cost more than the sums
    days = [] if frame.empty else sorted(
        (closed - registered).days
        for closed, registered in zip(frame["closed_on"], frame["registered_on"], strict=True)
        if closed is not None and not pd.isna(closed)
    )
    if not days:
        return {"count": 0, "mean": None, "median": None, "max": None}
    middle = len(days) // 2
    median = days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) / 2
    return {"count": len(days), "mean": round(sum(days) / len(days), 1), "median": float(median), "max": days[-1]}


def sla_breaches(frame: pd.DataFrame) -> dict:
    """Complaints that left a step after its deadline (late_steps > 0) or are overdue now."""
    if frame.empty:
        return {"complaints": 0, "late_steps": 0, "overdue_now": 0, "total": 0}
    breached = (frame["late_steps"] > 0) | frame["overdue"]
    return {"complaints": int(breached.sum()), "late_steps": int(frame["late_steps"].sum()),
            "overdue_now": int(frame["overdue"].sum()), "total": len(frame)}


def satisfaction(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per value of `column`: responses, answers, average score and the share of answers
    scored <= 3. `frame` holds one row per answer (response_id, score, `column`)."""
    if frame.empty:
        return pd.DataFrame({"label": [], "responses": [], "answers": [], "average": [], "low_share": []})
    grouped = frame.assign(low=frame["score"] <= LOW_SCORE).groupby(frame[column].fillna("—"), sort=True)
    table = pd.DataFrame({
        "responses": grouped["response_id"].nunique(),
        "answers": grouped["score"].count(),
        "average": grouped["score"].mean().round(2),
        "low_share": grouped["low"].mean(),
    }).rename_axis("label").reset_index()
    return table


def satisfaction_over_time(frame: pd.DataFrame, column: str, *, freq: str = "Q") -> pd.DataFrame:
    """Average score per period (rows, "2026Q1") and value of `column` (columns)."""
    if frame.empty:
        return pd.DataFrame()
    periods = pd.PeriodIndex(pd.to_datetime(frame["answered_on"]), freq=freq).astype(str)
    table = frame.assign(period=periods).pivot_table(index="period", columns=column, values="score", aggfunc="mean")
    return table.round(2).sort_index()


def response_rate(surveys: int, answered: int) -> float | None:
    return answered / surveys if surveys else None
