"""PostgreSQL's COPY fed from a DataFrame: the bulk write path of imports and snapshots."""

import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.db import connection


def copy_frame(cursor, table: str, frame: pd.DataFrame) -> None:
    """COPY every row of `frame` into `table`, its columns named as the frame's. The CSV
    is written by Arrow (3-5x faster than pandas' to_csv) with every present value
    quoted, so that an empty text stays '' and only a missing value becomes NULL."""
    out = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.Table.from_pandas(frame, preserve_index=False),
        out,
        pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    columns = ", ".join(connection.ops.quote_name(name) for name in frame.columns)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", io.BytesIO(out.getvalue()))
