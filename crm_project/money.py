"""Money and other exact decimals that travel as integers of minor units."""

import pandas as pd


def decimal_text(units: pd.Series, places: int) -> pd.Series:
    """Exact decimal text of integer units, vectorised (12345, 4 -> '1.2345'); None where
    a unit is missing. What a database takes for a decimal column without a float between."""
    present = units.notna().to_numpy()
    values = units.fillna(0).astype("int64")
    magnitude = values.abs()
    text = (magnitude // 10**places).astype(str) + "." + (magnitude % 10**places).astype(str).str.zfill(places)
    text = text.where(values >= 0, "-" + text)
    return text.astype(object).where(present, None)
