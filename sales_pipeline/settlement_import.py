"""Reading and checking a settlement file: pure pandas, no database (only Django's
translation, for the messages).

A file is CSV (UTF-8, header row) or XLSX with the columns `customer` (external
reference), `date`, `product` (SKU), `amount` and optionally `quantity`, `cost`,
`manager` (username), `document` and `product_line`. `check_settlements` returns
either clean lines ready for the ledger or every error found, each naming its file
line (the header is line 1) and its column. Every check is vectorised, so a million
lines take seconds. services.settlement_import_run drives this module and does all
database work (the `lookup` callback and the writes).

Line numbers count records: a quoted value spanning two physical lines (rare in
ledger exports) shifts the numbers after it by one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import methodcaller
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext

from crm_project.spreadsheets import (
    MAX_ERRORS,
    FileRejected,
    RowErrors,
    check_csv_head,
    csv_delimiter,
    header_name,
    xlsx_rows,
)

REQUIRED_COLUMNS = ("customer", "date", "product", "amount")
OPTIONAL_COLUMNS = ("quantity", "cost", "manager", "document", "product_line")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# An XLSX is a zip: refuse before parsing anything that would unpack beyond this.
# zipfile never inflates a member past its declared size, so the sum is a real bound.
XLSX_MAX_UNCOMPRESSED = 1024**3
XLSX_MAX_MEMBERS = 10_000

# The model's limits (tests check they still match customers/sales_pipeline models).
MAX_LENGTHS = {"customer": 64, "product": 64, "document": 64, "product_line": 100, "manager": 150}
# Decimal columns: (decimal places kept by the ledger, digits allowed before the point).
DECIMALS = {"amount": (4, 14), "cost": (4, 14), "quantity": (3, 11)}

# Part of every source key's hashed text: a change to what is hashed must change this
# too (and migrate the keys already in the ledger, as migration 0006 did).
KEY_VERSION = "settlement-import-v1"
# "YYYY-MM-DD:" and this many hex digits of the hash fill the ledger's 64 characters.
KEY_HASH_CHARS = 53
_SEP = "\x1f"

_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE_TIME = _DATE + r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
_OFFSET = r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_NUMBER_PARTS = r"^(?P<sign>[+-]?)(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?$"


@dataclass(frozen=True)
class Wanted:
    """The distinct references a file uses, for the database lookup."""

    customers: list[str]
    products: list[str]
    product_lines: list[str]
    users: list[str]


@dataclass(frozen=True)
class Known:
    """What the database holds for those references."""

    customers: dict[str, int]  # external_ref -> id
    permitted: frozenset[str] | None  # refs the importer may touch; None: everything (system)
    products: dict[str, int]  # sku -> id
    product_lines: dict[str, int]  # name -> id
    users: dict[str, int]  # username -> id


@dataclass
class Checked:
    """The outcome: `errors` is empty exactly when `lines` is usable.

    lines columns: line, customer, customer_id (<NA> for customers to create), product,
    product_id (<NA> for products to create), date (ISO text), quantity (int, 1/1,000),
    amount and cost (int, 1/10,000; cost <NA> when empty), manager_id (<NA> when empty),
    document, source_key."""

    rows_total: int
    errors: list[dict] = field(default_factory=list)
    lines: pd.DataFrame | None = None
    new_customers: list[str] = field(default_factory=list)
    new_products: dict[str, str] = field(default_factory=dict)  # sku -> product line name or ""
    new_product_lines: list[str] = field(default_factory=list)


#
# Reading
#


def read_settlement_file(path: str | Path) -> pd.DataFrame:
    """The file's rows as text: one column per header name (trimmed, lower case,
    spaces as underscores) plus `line`, the file line number. Blank rows are dropped."""
    path = Path(path)
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if not head:
        raise FileRejected(gettext("The file is empty."))
    if suffix == ".csv":
        raw = _read_csv(path, head)
    elif suffix == ".xlsx":
        raw = _read_xlsx(path)
    else:
        raise FileRejected(gettext("Only .csv and .xlsx files can be imported."))
    if raw.empty:
        raise FileRejected(gettext("The file is empty."))
    header = [header_name(value) for value in raw.iloc[0]]
    body = raw.iloc[1:]
    blank = (body == "").all(axis=1).to_numpy(dtype=bool)
    # Columns we do not know are ignored (a "description" column is fine).
    keep = [position for position, name in enumerate(header) if name in COLUMNS]
    rows = body.iloc[~blank, keep]
    rows.columns = [header[position] for position in keep]
    rows.insert(0, "line", np.arange(2, len(raw) + 1, dtype=np.int64)[~blank])
    return rows.reset_index(drop=True)


def _read_csv(path: Path, head: bytes) -> pd.DataFrame:
    check_csv_head(head)
    try:
        frame = pd.read_csv(
            path,
            header=None,
            dtype=str,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            sep=csv_delimiter(head.split(b"\n", 1)[0].decode("utf-8", errors="replace")),
            encoding="utf-8",
            engine="c",
        )
    except UnicodeDecodeError as exc:
        raise FileRejected(
            gettext("The file is not UTF-8 text (byte %(byte)s is not UTF-8). Save it as 'CSV UTF-8'.")
            % {"byte": f"{exc.start:,}"}
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise FileRejected(gettext("The file is empty.")) from exc
    except pd.errors.ParserError as exc:
        raise FileRejected(gettext("The CSV cannot be read: %(reason)s") % {"reason": str(exc).strip()}) from exc
    return frame.apply(lambda column: column.str.strip())


def _read_xlsx(path: Path) -> pd.DataFrame:
    rows = xlsx_rows(path, max_uncompressed=XLSX_MAX_UNCOMPRESSED, max_members=XLSX_MAX_MEMBERS)
    if not rows:
        return pd.DataFrame()
    width = max(len(rows[0]), 1)
    return pd.DataFrame([(row + [""] * width)[:width] for row in rows], dtype=str)


#
# Checking
#


def check_settlements(
    rows: pd.DataFrame,
    *,
    time_zone: str,
    create_missing: bool,
    lookup: Callable[[Wanted], Known],
    timings: dict[str, float] | None = None,
) -> Checked:
    """Check every row of `rows` (from read_settlement_file) and resolve its references
    through `lookup`. Collects all errors, capped at MAX_ERRORS plus one 'and N more'.
    `timings`, if given, gets the seconds spent on the references and on the keys."""
    timings = {} if timings is None else timings
    total = len(rows)
    duplicated = sorted({name for name in rows.columns[rows.columns.duplicated()] if name in COLUMNS})
    missing = [name for name in REQUIRED_COLUMNS if name not in rows.columns]
    if duplicated or missing:
        return Checked(
            rows_total=total,
            errors=[
                {"line": 1, "column": name, "message": gettext("the column appears more than once")}
                for name in duplicated
            ]
            + [{"line": 1, "column": name, "message": gettext("this required column is missing")} for name in missing],
        )
    if total == 0:
        return Checked(
            rows_total=0, errors=[{"line": 2, "column": None, "message": gettext("the file holds no lines")}]
        )
    frame = pd.DataFrame({name: rows[name] if name in rows.columns else "" for name in COLUMNS}, index=rows.index)
    frame = frame.astype(str)
    errors = _Errors(rows["line"].to_numpy())

    for name in REQUIRED_COLUMNS:
        errors.add_where(frame[name] == "", name, gettext("a value is required"))
    too_long = {}
    for name, limit in MAX_LENGTHS.items():
        too_long[name] = frame[name].str.len() > limit
        errors.add_where(
            too_long[name], name, gettext("longer than %(limit)s characters: %(value)s"), frame[name], limit=limit
        )

    for name in MAX_LENGTHS:
        # PostgreSQL text cannot hold NUL; say so per row rather than fail at the write.
        errors.add_where(frame[name].str.contains("\x00", regex=False), name, gettext("contains a NUL character"))

    day, bad_date = _parse_dates(frame["date"], time_zone)
    errors.add_where(bad_date, "date", gettext("not an ISO date (YYYY-MM-DD) or date-time: %(value)s"), frame["date"])

    money = {}
    for name, (places, digits) in DECIMALS.items():
        parsed = _parse_decimal(frame[name], places=places, digits=digits)
        errors.add_where(
            parsed.not_number,
            name,
            gettext("not a decimal number (digits and a point, e.g. 1234.50): %(value)s"),
            frame[name],
        )
        errors.add_where(
            parsed.too_precise,
            name,
            gettext("more than %(places)s decimal places: %(value)s"),
            frame[name],
            places=places,
        )
        errors.add_where(parsed.too_large, name, gettext("too large: %(value)s"), frame[name])
        money[name] = parsed

    customer, product, line_name, manager = frame["customer"], frame["product"], frame["product_line"], frame["manager"]
    usable = {name: (frame[name] != "") & ~too_long[name] for name in ("customer", "product", "manager")}
    started = time.perf_counter()
    known = lookup(
        Wanted(
            customers=_distinct(customer[usable["customer"]]),
            products=_distinct(product[usable["product"]]),
            product_lines=_distinct(line_name[(line_name != "") & ~too_long["product_line"]]),
            users=_distinct(manager[usable["manager"]]),
        )
    )
    timings["references"] = time.perf_counter() - started

    customer_exists = customer.isin(list(known.customers))
    if known.permitted is not None:
        errors.add_where(
            customer_exists & ~customer.isin(list(known.permitted)),
            "customer",
            gettext("not permitted: customer %(value)s is outside your customers"),
            customer,
        )
    product_exists = product.isin(list(known.products))
    if not create_missing:
        unknown = usable["customer"] & ~customer_exists
        errors.add_where(unknown, "customer", gettext("unknown customer reference %(value)s"), customer)
        errors.add_where(
            usable["product"] & ~product_exists, "product", gettext("unknown product SKU %(value)s"), product
        )
    unknown_manager = usable["manager"] & ~manager.isin(list(known.users))
    errors.add_where(unknown_manager, "manager", gettext("unknown user %(value)s"), manager)

    if errors.total:
        return Checked(rows_total=total, errors=errors.as_list())

    lines = pd.DataFrame(
        {
            "line": rows["line"],
            "customer": customer,
            "customer_id": ids_of(customer, known.customers),
            "product": product,
            "product_id": ids_of(product, known.products),
            "date": _iso_dates(day),
            "quantity": np.where(frame["quantity"] == "", 10**3, money["quantity"].units),
            "amount": money["amount"].units,
            "cost": pd.array(money["cost"].units, dtype="Int64"),
            "manager_id": ids_of(manager, known.users),
            "document": frame["document"],
        },
        index=rows.index,
    )
    lines.loc[(frame["cost"] == "").to_numpy(), "cost"] = pd.NA
    started = time.perf_counter()
    lines["source_key"] = source_keys(lines)
    timings["source keys"] = time.perf_counter() - started

    new_products = pd.DataFrame({"product": product, "product_line": line_name})[lines["product_id"].isna()]
    new_products = new_products.drop_duplicates("product")
    new_line_names = [
        name for name in _distinct(new_products["product_line"]) if name and name not in known.product_lines
    ]
    return Checked(
        rows_total=total,
        lines=lines,
        new_customers=_distinct(lines.loc[lines["customer_id"].isna(), "customer"]),
        new_products=dict(zip(new_products["product"], new_products["product_line"], strict=True)),
        new_product_lines=new_line_names,
    )


def source_keys(lines: pd.DataFrame) -> pd.Series:
    """The line's ISO date, a colon and the first KEY_HASH_CHARS hex digits of the sha256
    of its normalised values plus how many times that exact line occurred before it in
    the file: the same file always gives the same keys, and two identical lines in one
    file (one product twice on an invoice) stay two lines.

    The date leads so that the ledger's unique key index is ordered like its date index:
    an import written in key order appends to both at a few places instead of touching
    pages all over them (bench/README.md). Built in Arrow: pandas' str.cat would copy
    every value into a Python object."""
    names = ("customer", "date", "product", "quantity", "amount", "cost", "document")
    separator = pa.scalar(_SEP, pa.large_string())
    text = pc.binary_join_element_wise(*(_arrow_text(lines[name]) for name in names), separator)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()  # one dictionary for the whole file, not one per chunk
    codes = np.asarray(pc.dictionary_encode(text).indices)
    occurrence = pd.Series(codes).groupby(codes).cumcount().to_numpy() + 1
    text = pc.binary_join_element_wise(text, pc.cast(pa.array(occurrence), pa.large_string()), separator)
    days = _arrow_text(lines["date"])
    # Hashed in C iterators (map over the line's bytes, no bytecode per line) and joined
    # to the dates in Arrow: 15-30 % less than a list comprehension formatting each key.
    version = pa.scalar(KEY_VERSION, pa.large_string())
    text = pc.cast(pc.binary_join_element_wise(version, text, separator), pa.large_binary())
    keys = []
    for start in range(0, len(text), 100_000):  # a million Python objects at once would double the peak
        digests = map(_HEXDIGEST, map(hashlib.sha256, text.slice(start, 100_000).to_pylist()))
        keys.append(_keys_of(pc.cast(days.slice(start, 100_000), pa.string()), pa.array(list(digests), pa.string())))
    return pd.Series(pd.array(pa.chunked_array(keys, type=pa.string()), dtype="str"), index=lines.index)


_HEXDIGEST = methodcaller("hexdigest")


def _keys_of(days: pa.Array, digests: pa.Array) -> pa.Array:
    """'<ISO date>:<first KEY_HASH_CHARS hex digits of the digest>' per line."""
    return pc.binary_join_element_wise(days, pc.utf8_slice_codeunits(digests, 0, KEY_HASH_CHARS), ":")


def _arrow_text(values: pd.Series) -> pa.Array:
    """The column as Arrow text; numbers in plain digits, missing values empty."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(str)
    array = pa.array(values)
    if array.type != pa.large_string():  # pandas keeps text as large_string
        array = pc.cast(array, pa.large_string())
    return pc.fill_null(array, "")


def ids_of(refs: pd.Series, known: dict[str, int]) -> pd.Series:
    """The database id of each reference (<NA> where unknown), each distinct reference
    looked up once: four times faster than Series.map over a million lines."""
    codes, uniques = pd.factorize(refs)
    ids = pd.array([known.get(ref) for ref in uniques], dtype="Int64")
    return pd.Series(ids.take(codes), index=refs.index)


def _distinct(values: pd.Series) -> list[str]:
    return [str(value) for value in pd.unique(values.to_numpy())]


def _parse_dates(values: pd.Series, time_zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Calendar days (datetime64[D]) and a mask of unreadable non-empty values. A
    date-time with an offset keeps its date in `time_zone`; one without keeps its own."""
    days = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[D]")
    plain = values.str.fullmatch(_DATE).to_numpy(dtype=bool)
    if plain.any():
        days[plain] = _to_days(pd.to_datetime(values[plain], format="%Y-%m-%d", errors="coerce"))
    rest = ~plain & (values != "").to_numpy(dtype=bool)
    if rest.any():
        naive = rest & values.str.fullmatch(_DATE_TIME).to_numpy(dtype=bool)
        aware = rest & values.str.fullmatch(_DATE_TIME + _OFFSET).to_numpy(dtype=bool)
        if naive.any():
            days[naive] = _to_days(pd.to_datetime(values[naive], format="ISO8601", errors="coerce"))
        if aware.any():
            moments = pd.to_datetime(values[aware], format="ISO8601", utc=True, errors="coerce")
            days[aware] = _to_days(moments.dt.tz_convert(time_zone).dt.tz_localize(None))
    bad = np.isnat(days) & (values != "").to_numpy(dtype=bool)
    return days, bad


def _to_days(moments: pd.Series) -> np.ndarray:
    return moments.dt.floor("D").to_numpy().astype("datetime64[D]")


def _iso_dates(days: np.ndarray) -> pd.Categorical:
    codes, uniques = pd.factorize(days)
    return pd.Categorical.from_codes(codes, [str(day) for day in uniques.astype("datetime64[D]")])


@dataclass
class _Decimal:
    units: np.ndarray  # int64, value × 10**places; 0 where empty or invalid
    not_number: np.ndarray
    too_precise: np.ndarray
    too_large: np.ndarray


def _parse_decimal(values: pd.Series, *, places: int, digits: int) -> _Decimal:
    """Exact decimals from text, never through float: '0.1' is 1,000 units of 1/10,000.
    Done in pyarrow compute (C++): four times faster than pandas' str methods."""
    text = pa.array(values, type=pa.string())
    empty = np.asarray(pc.equal(text, ""), dtype=bool)
    parts = pc.extract_regex(text, _NUMBER_PARTS)  # null where the text is no number
    whole = pc.utf8_ltrim(pc.struct_field(parts, "whole"), "0")
    fraction = pc.utf8_rtrim(pc.struct_field(parts, "fraction"), "0")
    has_digits = pc.greater(pc.add(pc.utf8_length(pc.struct_field(parts, "whole")),
                                   pc.utf8_length(pc.struct_field(parts, "fraction"))), 0)  # fmt: skip
    number = np.asarray(pc.fill_null(has_digits, False), dtype=bool)
    too_precise = number & np.asarray(pc.fill_null(pc.greater(pc.utf8_length(fraction), places), False), dtype=bool)
    too_large = number & np.asarray(pc.fill_null(pc.greater(pc.utf8_length(whole), digits), False), dtype=bool)
    good = pa.array(number & ~too_precise & ~too_large)
    whole = pc.if_else(pc.and_(good, pc.fill_null(pc.not_equal(whole, ""), False)), whole, "0")
    fraction = pc.if_else(good, pc.fill_null(fraction, ""), "")
    whole_units = pc.cast(whole, pa.int64())
    fraction_units = pc.cast(pc.utf8_rpad(fraction, places, "0"), pa.int64())
    units = np.asarray(whole_units, dtype=np.int64) * 10**places + np.asarray(fraction_units, dtype=np.int64)
    negative = np.asarray(pc.fill_null(pc.equal(pc.struct_field(parts, "sign"), "-"), False), dtype=bool)
    units = np.where(negative, -units, units)
    return _Decimal(units, ~empty & ~number, too_precise, too_large)


class _Errors(RowErrors):
    """RowErrors fed by masks over all rows: keeps the first MAX_ERRORS of each check,
    which is enough to know the first MAX_ERRORS overall, and counts the rest."""

    def __init__(self, lines: np.ndarray):
        super().__init__(COLUMNS)
        self.lines = lines

    def add_where(self, mask, column: str, message: str, values: pd.Series | None = None, **params) -> None:
        """An error for each row of `mask`; `message` (translated) takes `params` and, with
        `values`, the row's value as %(value)s."""
        where = np.flatnonzero(np.asarray(mask, dtype=bool))
        for i in where[:MAX_ERRORS]:
            if values is not None:
                text = message % {**params, "value": _quote(values.iat[i])}
            else:
                text = message % params if params else message
            self.add(int(self.lines[i]), column, text)
        self.count_more(max(len(where) - MAX_ERRORS, 0))


def _quote(value) -> str:
    text = str(value)
    return f'"{text[:40]}…"' if len(text) > 40 else f'"{text}"'
