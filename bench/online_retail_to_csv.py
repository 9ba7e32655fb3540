#!/usr/bin/env python
"""Turn the UCI Online Retail data into a settlement CSV for import_settlements.

    .venv/bin/python bench/online_retail_to_csv.py [SOURCE.parquet] [--out /tmp/online_retail_settlements.csv]
    .venv/bin/python manage.py import_settlements /tmp/online_retail_settlements.csv --create-missing

As the data's README says: one settlement line per invoice line that has a CustomerID;
customer = the CustomerID as an integer ("12346"), date = the calendar date of
InvoiceDate, product = StockCode, document = InvoiceNo, quantity = Quantity, and
amount = Quantity x UnitPrice, computed exactly (Decimal(str(price)), never a float
product), so returns (negative quantities) are negative lines.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "online-retail" / "online_retail.parquet"


def convert(source: Path) -> pd.DataFrame:
    data = pd.read_parquet(
        source, columns=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    )
    data = data[data["CustomerID"].notna()]
    # str(float) is the shortest text that reads back as the same float: the price as published.
    prices = {price: Decimal(str(price)) for price in data["UnitPrice"].unique().tolist()}
    amounts = [
        format(quantity * prices[price], "f")
        for quantity, price in zip(data["Quantity"].tolist(), data["UnitPrice"].tolist(), strict=True)
    ]
    return pd.DataFrame(
        {
            "customer": data["CustomerID"].astype("int64").astype(str).to_numpy(),
            "date": data["InvoiceDate"].dt.strftime("%Y-%m-%d").to_numpy(),
            "product": data["StockCode"].to_numpy(),
            "amount": amounts,
            "quantity": data["Quantity"].to_numpy(),
            "document": data["InvoiceNo"].to_numpy(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=Path("/tmp/online_retail_settlements.csv"))
    args = parser.parse_args()
    started = time.monotonic()
    lines = convert(args.source)
    lines.to_csv(args.out, index=False)
    print(
        f"{len(lines):,} lines, {lines['customer'].nunique():,} customers, {lines['product'].nunique():,} products "
        f"-> {args.out} ({time.monotonic() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
