"""Querysets compiled once per process and run again with new values (issue 15).

The agenda asks some twenty queries whose shape never changes from one request to the
next: only the user's id and the day do. Built through the ORM, each cost 1-3 ms of
Python on every request (cloning querysets, resolving lookups, compiling SQL), more
than most of them cost the database. Here the queryset is written once, as before, with
`Slot("name", field)` where a value changes; the first run compiles it, and every later
run substitutes the values into the compiled statement's parameters and applies the
ORM's own converters to the rows. The SQL is the ORM's, so it is the same on every
database the ORM supports.

Only what is a parameter may be a Slot: whatever changes the statement's shape (a
scope that depends on the user's role, the length of a list, the day when a window of
days is written out) must be part of the `shape` the builder is called with, so each
shape gets its own statement. The last SHAPES shapes are kept.

`objects()` runs a model queryset the same way and gives its model instances, with what
select_related() joined and the annotations set, as the ORM's ModelIterable builds them:
for detail pages such as the customer card, whose few queries cost more to build and
compile than to run.

On PostgreSQL the statement is also prepared on the server, once per connection
(PREPARE, then EXECUTE with the values): parsing and planning were most of what the
database spent on the agenda's statements. Only the Slots are parameters of the server's
statement; the query's other values (a status, a stage, a kind) are constants of its
shape and are written into it as literals, as the ORM sends them. PostgreSQL plans a
prepared statement anew on each run until a plan for any parameter values (a generic
plan) looks as cheap: with those constants as parameters, the generic plan could match
no partial index and guessed their selectivity, so most of the agenda's statements were
planned again on every request (its complaints and surveys: 3.5 ms, now 0.9). A
statement whose generic plan still looks dearer is planned for each run's values, as
any query is. A statement stays prepared until its connection closes (CONN_MAX_AGE);
this assumes a session per connection: behind a pooler in transaction mode, set
DATABASE_SERVER_PREPARED=false.
"""

import itertools
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from threading import Lock

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Expression, Field, IntegerField, QuerySet, Value
from django.db.models.query import get_related_populators

SHAPES = 64  # statements kept per prepared query (per user and day at most, for a few)


class Slot(Expression):
    """A named value of a prepared query: one placeholder in its SQL, filled at each run
    with the value prepared for `output_field` (a date as the database stores it, an id)."""

    def __init__(self, name: str, output_field: Field):
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [self]


_NAMES = itertools.count()
_PLACEHOLDER = re.compile(r"%%|%s")


def _server_type(value) -> str | None:
    """The type PostgreSQL gives the literal psycopg2 writes for `value` (a plain integer
    literal is an integer, a quoted string is of unknown type, resolved from its context),
    so that a prepared statement's parameter is typed as the statement run with literals
    types it; None for a value this does not cover (the statement then runs as literals)."""
    if value is None or isinstance(value, str):  # TextChoices too
        return "unknown"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):  # IntegerChoices too
        return "integer" if -(2**31) <= value < 2**31 else "bigint" if -(2**63) <= value < 2**63 else None
    if isinstance(value, datetime):
        return "timestamptz" if value.tzinfo is not None else "timestamp"
    if isinstance(value, date):
        return "date"
    if isinstance(value, Decimal):
        return "numeric"
    return None


class _Compiled:
    def __init__(self, queryset: QuerySet):
        self.alias = queryset.db
        self.number = next(_NAMES)
        compiler = queryset.query.get_compiler(self.alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = {index: param for index, param in enumerate(self.params) if isinstance(param, Slot)}
        self._server_sql = None
        query = queryset.query
        self.names = list(query.selected) if query.selected else [
            *query.extra_select, *query.values_select, *query.annotation_select,
        ]  # fmt: skip
        # the ORM's converters of each column (SQLite's dates and decimals, for instance)
        fields = [select[0] for select in compiler.select[0 : compiler.col_count]]
        self.converters = list(compiler.get_converters(fields).items())
        self.model = None  # a values() queryset's rows are no model instances
        if query.selected is None and compiler.klass_info is not None:  # what ModelIterable reads from its compiler
            self.model = compiler.klass_info["model"]
            select_fields = compiler.klass_info["select_fields"]
            self.model_slice = slice(select_fields[0], select_fields[-1] + 1)
            self.init_list = [column[0].target.attname for column in compiler.select[self.model_slice]]
            self.related_populators = get_related_populators(compiler.klass_info, compiler.select, self.alias)
            self.annotation_col_map = list((compiler.annotation_col_map or {}).items())

    def server_sql(self, cursor) -> str:
        """PostgreSQL's spelling of the statement: $1, $2... for the Slots, in their order,
        and every other value written in as the literal the driver sends for it (its %
        doubled: the statement goes through the driver's formatting again, as %% does)."""
        if self._server_sql is None:
            params, numbers = iter(self.params), itertools.count(1)

            def placeholder(match):
                if match.group() == "%%":
                    return "%%"
                value = next(params)
                if isinstance(value, Slot):
                    return f"${next(numbers)}"
                return cursor.mogrify("%s", [value]).decode().replace("%", "%%")

            self._server_sql = _PLACEHOLDER.sub(placeholder, self.sql)
        return self._server_sql


class Prepared:
    """`build(*shape, **values)` gives a queryset; `rows(*shape, **values)` runs a values() one
    as a list of dicts, `objects(*shape, **values)` a model one as a list of instances,
    compiled once per shape with a Slot for each of `fields` (name: the model field its
    value is prepared for) and run with the values given."""

    def __init__(self, build: Callable[..., QuerySet], **fields: Field):
        self.build = build
        self.slots = {name: Slot(name, field) for name, field in fields.items()}
        self._compiled: dict[tuple, _Compiled | None] = {}
        self._lock = Lock()

    def _statement(self, shape) -> "_Compiled | None":
        """The shape's compiled statement; None for a shape that can match nothing (a
        scope that lets the user see nothing: the ORM runs no query for it either)."""
        if shape in self._compiled:
            return self._compiled[shape]
        try:
            statement = _Compiled(self.build(*shape, **self.slots))
        except EmptyResultSet:
            statement = None
        with self._lock:
            if len(self._compiled) >= SHAPES:  # the oldest goes
                del self._compiled[next(iter(self._compiled))]
            self._compiled[shape] = statement
        return statement

    def _fetch(self, statement: _Compiled, values: dict) -> list:
        """The statement's rows for `values`, each converted as the ORM converts it."""
        connection = connections[statement.alias]
        params = list(statement.params)
        for index, slot in statement.slots.items():
            params[index] = slot.output_field.get_db_prep_value(values[slot.name], connection, prepared=False)
        fetched = fetch_all(statement, params)
        converters = statement.converters
        if not converters:
            return fetched
        rows = []
        for row in fetched:
            row = list(row)
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            rows.append(row)
        return rows

    def rows(self, *shape, **values) -> list[dict]:
        statement = self._statement(shape)
        if statement is None:
            return []
        names = statement.names
        return [dict(zip(names, row, strict=True)) for row in self._fetch(statement, values)]

    def row(self, *shape, default: dict, **values) -> dict:
        """The first row of rows() (an aggregate_row's only one), or `default` when there is
        none (a shape that matches nothing)."""
        rows = self.rows(*shape, **values)
        return rows[0] if rows else default

    def tuples(self, *shape, **values) -> list[tuple]:
        """The rows of a values() or values_list() queryset as tuples in its column order:
        no dict per row (a list filter's 2,000 products made 2,000 dicts a page)."""
        statement = self._statement(shape)
        if statement is None:
            return []
        rows = self._fetch(statement, values)
        return rows if not statement.converters else [tuple(row) for row in rows]

    def objects(self, *shape, **values) -> list:
        """The model instances of a model queryset (not values()), built as ModelIterable
        builds them: its fields, what select_related() joined, its annotations."""
        statement = self._statement(shape)
        if statement is None:
            return []
        if statement.model is None:
            raise TypeError("Prepared.objects() runs a model queryset, not values()")
        model, alias, init_list = statement.model, statement.alias, statement.init_list
        model_slice = statement.model_slice
        populators, annotations = statement.related_populators, statement.annotation_col_map
        objects = []
        for row in self._fetch(statement, values):
            obj = model.from_db(alias, init_list, row[model_slice])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def aggregate_row(queryset: QuerySet, **aggregates) -> QuerySet:
    """queryset.aggregate(**aggregates) as a values() queryset of its one row, which a
    Prepared can compile (aggregate() runs at once). The row also holds a constant `one`."""
    return queryset.order_by().annotate(one=Value(1, output_field=IntegerField())).values("one").annotate(**aggregates)


class RawStatement:
    """A statement written by hand (%s for each value, all of them values of the run) that
    runs as the compiled ones do: prepared on the PostgreSQL server once per connection."""

    def __init__(self, sql: str, alias: str):
        self.number = next(_NAMES)
        self.sql, self.alias = sql, alias
        numbers = itertools.count(1)
        self._server_sql = _PLACEHOLDER.sub(lambda m: m.group() if m.group() == "%%" else f"${next(numbers)}", sql)
        self.slots = dict.fromkeys(range(next(numbers) - 1))  # every value is one

    def server_sql(self, cursor) -> str:
        return self._server_sql


def fetch_all(statement: "_Compiled | RawStatement", params: list) -> list[tuple]:
    """The rows of `statement` run with `params` (all of the statement's values), on the
    server's prepared statement where there is one."""
    connection = connections[statement.alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and settings.DATABASE_SERVER_PREPARED:
            _execute_prepared(connection, cursor, statement, params)
        else:
            cursor.execute(statement.sql, params)
        return cursor.fetchall()


def _execute_prepared(connection, cursor, statement: "_Compiled | RawStatement", params: list) -> None:
    """Run `statement` as a server-side prepared statement of this connection: PostgreSQL
    parses it once per connection and plans it once when a generic plan serves (the
    agenda's ~18 statements spent 6-8 ms a page parsing and planning, more than running),
    then EXECUTE names it with the Slots' values. The PREPARE goes in the same round trip
    as the first EXECUTE. A statement whose values this cannot type runs as before; one
    whose PREPARE failed is not tried again on this connection."""
    full_params = params
    params = [params[index] for index in statement.slots]  # dicts keep the Slots' order
    types = tuple(_server_type(value) for value in params)
    if None in types:
        cursor.execute(statement.sql, full_params)
        return
    raw = connection.connection  # a new session (reconnected) has none of them yet
    state = connection.__dict__.get("_crm_prepared")
    if state is None or state[0] is not raw:
        state = connection.__dict__["_crm_prepared"] = (raw, {})
    name = f"crm_{statement.number}_{'_'.join(type_[:2] for type_ in types)}"
    known = state[1].get(name)
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    if known is None:
        state[1][name] = False  # until it is known to exist
        declared = f"({', '.join(types)})" if types else ""
        server_sql = statement.server_sql(cursor)
        cursor.execute(f"PREPARE {name} {declared} AS {server_sql}; EXECUTE {name} {arguments}", params)
        state[1][name] = True
    elif known:
        cursor.execute(f"EXECUTE {name} {arguments}", params)
    else:
        cursor.execute(statement.sql, full_params)


def id_slots(name: str, places: int) -> list[Slot]:
    """`places` Slots for ids, `<name>0`, `<name>1`..., for `In(F(column), id_slots(...))`."""
    return [Slot(f"{name}{index}", IntegerField()) for index in range(places)]


def id_places(ids) -> int:
    """The places a list of `ids` takes: its length rounded up to a power of two, so that
    lists of any length make a handful of statements, not one per length."""
    return 1 << max(len(ids) - 1, 0).bit_length()


def id_values(name: str, ids, places: int) -> dict:
    """The values of id_slots(name, places) for `ids`, the last one repeated (the same set)."""
    ids = list(ids)
    ids += ids[-1:] * (places - len(ids))
    return {f"{name}{index}": value for index, value in enumerate(ids)}
