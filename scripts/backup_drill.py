#!/usr/bin/env python
"""The backup and restore drill (reliability.md RES-03): pg_dump a database, restore it
into an empty one, and prove the copy is the same: every table's row count and a
checksum of its rows (data, history and points ledgers alike), every sequence's
position, and `manage.py migrate --check` on the copy.

    .venv/bin/python scripts/backup_drill.py --database postgres://postgres@127.0.0.1:5432/crm
        [--dump FILE] [--keep]

Exit code 0 when the copy is identical, 1 with the differing tables listed otherwise.
The restored database is named <source>_drill and dropped afterwards unless --keep.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql

BASE_DIR = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def pg_tool(name: str) -> str:
    candidate = PG_BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def parts(url: str) -> dict:
    split = urlsplit(url)
    return {
        "host": split.hostname or "127.0.0.1",
        "port": split.port or 5432,
        "user": split.username or "postgres",
        "password": split.password,
        "dbname": split.path.lstrip("/"),
    }


def connect(url: str, dbname: str | None = None):
    kwargs = parts(url)
    if dbname:
        kwargs["dbname"] = dbname
    return psycopg2.connect(**{k: v for k, v in kwargs.items() if v is not None})


def with_database(url: str, dbname: str) -> str:
    split = urlsplit(url)
    return split._replace(path=f"/{dbname}").geturl()


def fingerprints(conn) -> dict[str, tuple]:
    """{table: (row count, md5 over the md5 of every row in a stable order)} for every
    table of the public schema, and {sequence: last value} for every sequence."""
    result = {}
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) "
                    "FROM {} AS t"
                ).format(sql.Identifier(table))
            )
            result[table] = cursor.fetchone()
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        for name, last_value in cursor.fetchall():
            result[f"sequence {name}"] = (last_value,)
    return result


def differences(source: dict, copy: dict) -> list[str]:
    problems = []
    for name in sorted(set(source) | set(copy)):
        if source.get(name) != copy.get(name):
            problems.append(f"{name}: source {source.get(name)} != copy {copy.get(name)}")
    return problems


def run(command: list[str], env: dict | None = None) -> None:
    subprocess.run(command, check=True, env=env, capture_output=True, text=True)  # noqa: S603 - our own argv


def drill(url: str, dump: Path, keep: bool = False, out=sys.stdout) -> int:
    source = parts(url)
    target = f"{source['dbname']}_drill"
    env = {**os.environ, **({"PGPASSWORD": source["password"]} if source["password"] else {})}
    common = ["-h", source["host"], "-p", str(source["port"]), "-U", source["user"]]

    began = time.monotonic()
    run([pg_tool("pg_dump"), *common, "-Fc", "-f", str(dump), source["dbname"]], env=env)
    dumped = time.monotonic()

    admin = connect(url, "postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    try:
        run([pg_tool("pg_restore"), *common, "--no-owner", "--exit-on-error", "-d", target, str(dump)], env=env)
        restored = time.monotonic()
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check"],
            cwd=BASE_DIR, env={**env, "DATABASE_URL": with_database(url, target)}, capture_output=True, text=True,
        )
        with connect(url) as original, connect(url, target) as copy:
            expected, got = fingerprints(original), fingerprints(copy)
        problems = differences(expected, got)
        if migrate.returncode != 0:
            problems.append("migrate --check on the copy: " + (migrate.stdout + migrate.stderr).strip())
        tables = [name for name in expected if not name.startswith("sequence ")]
        print(
            f"dump {dump.stat().st_size / 1e6:.1f} MB in {dumped - began:.1f} s; restore in {restored - dumped:.1f} s; "
            f"{len(tables)} tables, {sum(expected[t][0] for t in tables)} rows compared",
            file=out,
        )
        for name in ("customers_customer", "customers_historicalcustomer", "loyalty_pointsentry"):
            if name in expected:
                print(f"  {name}: {expected[name][0]} rows, checksum {expected[name][1]}", file=out)
        for problem in problems:
            print("DIFFERENT " + problem, file=out)
        print("identical" if not problems else f"{len(problems)} differences", file=out)
        return 0 if not problems else 1
    finally:
        if not keep:
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="postgres://user@host:port/name of the source")
    parser.add_argument("--dump", help="where to write the dump (default: a temporary file)")
    parser.add_argument("--keep", action="store_true", help="keep the restored <name>_drill database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        return drill(args.database, Path(args.dump or Path(tmp) / "drill.dump"), keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
