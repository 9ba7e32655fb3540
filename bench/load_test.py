#!/usr/bin/env python
"""Load test (issue 15): gunicorn with DEBUG off on PostgreSQL, Redis and a Celery worker,
driven by locust (bench/locustfile.py: managers and directors who log in, click through
their pages with 1-3 s think time and log calls). Needs requirements-load.txt.

    .venv/bin/pip install -r requirements-load.txt
    .venv/bin/python bench/bench_pages.py --database crm_bench_pages50k --build-only   # the data
    .venv/bin/python bench/load_test.py --database crm_bench_pages50k --redis-url redis://127.0.0.1:6379/3
    .venv/bin/python bench/load_test.py ... --users 25,50,100 --duration 60 --saturation-users 20
    .venv/bin/python bench/load_test.py ... --soak                      # 30 min at 50 users, memory
    .venv/bin/python bench/load_test.py --smoke                        # CI: DATABASE_URL's data, a few seconds
    .venv/bin/python bench/load_test.py --database crm_bench_pages50k --redis-url ... --perf01  # PERF-01

For each number of users it ramps them up at --spawn-rate (each logs in through the
login form once: the password hash is deliberately slow, so the ramp is gentle), resets
the statistics once every user has logged in, then measures for --duration seconds and prints requests per second and
p50/p95/p99 per page. The saturation run has --saturation-users users with no think
time: the requests per second the server (and the load generator, on the same machine)
can give. The soak samples the resident memory of gunicorn's processes every 30 s and
compares the last sample with the one after the first 5 minutes.

--perf01 runs reliability.md's PERF-01 instead of the steps: 200 users (managers) ramped at
20 a second, 1-5 s think time, 60 s measured from 15 s after the last login (--settle; its
steady state: the ramp's 200 logins, each a deliberately slow password hash, queue the
server for a few seconds after the last of them, which the measured time would otherwise
start with), on its own mix (60 % customer list with filters, 25 % customer card, 10 %
dashboard, 5 % a profile edit POSTed); it passes with no
failed request, p95 under 500 ms for the lists, 300 ms for the cards and 800 ms for the
dashboard (locust's exit code, bench/locustfile.py) and PostgreSQL's client connections at
most max_connections - 10 (sampled each second); exit status 1 otherwise.

It logs in as the three managers with the most customers and as a director of the
database, after setting their passwords to a random one for this run (the bench's
databases are throwaway; never point this at real data). Exit status 1 on any failed
request (the smoke's check).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PERIOD = "start=2026-01-01&end=2026-03-31"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="PostgreSQL database on 127.0.0.1 (default: DATABASE_URL)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--users", default="25,50,100")
    parser.add_argument("--duration", type=int, default=60, help="measured seconds per step")
    parser.add_argument("--spawn-rate", type=float, default=2.0)
    parser.add_argument("--think", default="1-3", help="seconds between a user's clicks, e.g. 1-5 (PERF-01)")
    parser.add_argument("--saturation-users", type=int, default=20, help="0: no saturation run")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--soak", action="store_true", help="30 minutes at 50 users instead, with memory")
    parser.add_argument("--soak-minutes", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 5 users, 2 workers, 0 errors")
    parser.add_argument(
        "--perf01",
        action="store_true",
        help="reliability.md's PERF-01: 200 users, 1-5 s think, 20/s ramp, 60 s; exit 1 unless it passes",
    )
    parser.add_argument(
        "--settle", type=int, default=None, help="seconds between the last login and the measure (PERF-01: 15)"
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="locust CSVs and logs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.users, args.duration, args.spawn_rate, args.saturation_users, args.workers = "5", 20, 5.0, 0, 2
    args.user_classes = ["Manager", "Director"]
    if args.perf01:
        args.users, args.think, args.spawn_rate, args.duration, args.saturation_users = "200", "1-5", 20.0, 60, 0
        args.user_classes = ["Perf01Manager"]
    if args.settle is None:
        args.settle = 15 if args.perf01 else 0
    return args


def interpreter() -> str:
    """The server's Python and where it comes from (its build matters: an optimised one
    cost 10-15 % less CPU a request here than pyenv's default, README)."""
    code = "import sys; print(sys.version.split()[0], sys._base_executable)"
    answer = subprocess.run([str(VENV_BIN / "python"), "-c", code], capture_output=True, text=True).stdout.split()
    return f"Python {answer[0]} ({answer[1]})" if len(answer) == 2 else "Python unknown"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(args) -> dict:
    env = dict(os.environ)
    if args.database:
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    env.update(
        DJANGO_SETTINGS_MODULE="crm_project.settings",
        DEBUG="false",
        SECRET_KEY=env.get("LOAD_SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    return env


def prepare(env: dict, data_file: Path) -> dict:
    """The users to log in as (their passwords set for this run) and the ids they see."""
    os.environ.update(
        {k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY") if k in env}
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from customers.access import DIRECTOR, MANAGER
    from customers.models import Customer
    from sales_pipeline.models import Deal

    # The previous run's password when it still works: setting a new one would end the
    # users' other sessions (a bench_pages run beside this one, for example).
    previous = json.loads(data_file.read_text()).get("password") if data_file.exists() else None
    password = previous or secrets.token_urlsafe(18)
    User = get_user_model()
    managers = list(
        User.objects.filter(groups__name=MANAGER, is_active=True)
        .annotate(n=Count("customers"))
        .filter(n__gt=0)
        .order_by("-n")[:3]
    )
    director = User.objects.filter(groups__name=DIRECTOR, is_active=True).order_by("pk").first()
    if not managers:
        raise SystemExit("no manager with customers in this database")
    data = {"password": password, "period": PERIOD, "managers": [], "director": director.username if director else None}
    for user in [*managers, *([director] if director else [])]:
        if not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
    for manager in managers:
        customers = list(Customer.objects.filter(manager=manager).order_by("?").values_list("pk", flat=True)[:500])
        deals = list(Deal.objects.filter(manager=manager).order_by("?").values_list("pk", flat=True)[:500])
        data["managers"].append({"username": manager.username, "customers": customers, "deals": deals})
    data_file.write_text(json.dumps(data))
    # Axes: a lockout left from an earlier run must not fail this one.
    from axes.utils import reset

    reset()
    return data


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer on port {port}")


def drained(host: str, seconds: float = 300) -> float:
    """Wait until the server answers the login page within a second again: locust stops
    its users at the end of a step, but gunicorn still works off the requests queued, and
    the next step must not start behind them. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        asked = time.monotonic()
        try:
            urllib.request.urlopen(
                urllib.request.Request(f"{host}/login/", headers={"X-Forwarded-Proto": "https"}), timeout=30
            )
        except OSError:
            pass
        if time.monotonic() - asked < 1:
            break
        time.sleep(2)
    return time.monotonic() - started


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn's master and workers)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20
    except psutil.Error:
        return 0.0


def cpu_seconds(server_pid: int, generator_pid: int) -> dict:
    """CPU seconds used so far by gunicorn (master and workers), the load generator and
    the rest of the machine: PostgreSQL, the Celery worker, the system. The rest is the
    machine's busy time less the first two: PostgreSQL's backends end with their
    connections (CONN_MAX_AGE), taking their CPU counts with them."""
    import psutil

    def used(processes) -> float:
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def tree(pid):
        try:
            parent = psutil.Process(pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.Error:
            return []

    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq + machine.steal
    server, generator = used(tree(server_pid)), used(tree(generator_pid))
    return {"gunicorn": server, "locust": generator, "rest": busy - server - generator}


def run_locust(args, env, host, users: int, duration: int, think: str, prefix: Path, memory=None, server=None) -> dict:
    spawn = max(1, int(users / args.spawn_rate))
    # the locustfile measures `duration` seconds from the last login, then stops the run;
    # -t only bounds a run whose logins never finish
    env = {**env, "LOAD_THINK": think, "LOAD_MEASURE": str(duration), "LOAD_MARK": str(prefix)}
    env["LOAD_SETTLE"] = str(args.settle)
    if args.perf01:
        env["LOAD_CHECK"] = "perf01"  # the locustfile's exit code says whether it passed
    for mark in (f"{prefix}.start", f"{prefix}.end"):
        Path(mark).unlink(missing_ok=True)
    limit = spawn + args.settle + duration + 300 + 30
    command = [
        str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "-u", str(users), "-r", str(args.spawn_rate), "-t", f"{limit}s", "--host", host,
        "--csv", str(prefix), "--reset-stats", "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5",
        *args.user_classes,
    ]  # fmt: skip
    settle = f", then {args.settle} s to settle" if args.settle else ""
    print(f"  {users} users, think {think} s: {spawn} s ramp{settle}, {duration} s measured", flush=True)
    samples = []
    connections = []  # PostgreSQL's client connections, each second of the measured time
    cpu = {}  # CPU seconds at the start and the end of the measured time (sampled each second)
    with open(f"{prefix}.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        while process.poll() is None:
            time.sleep(1)
            if memory and time.monotonic() - started >= len(samples) * 30:
                samples.append((round(time.monotonic() - started), memory()))
            for mark in ("start", "end"):
                if server and mark not in cpu and Path(f"{prefix}.{mark}").exists():
                    cpu[mark] = cpu_seconds(server, process.pid)
            if args.perf01 and "start" in cpu and "end" not in cpu:
                connections.append(client_connections())
    stats = read_stats(Path(f"{prefix}_stats.csv"))
    return {
        "stats": stats,
        "memory": samples,
        "exit": process.returncode,
        "cpu": cpu_per_request(cpu, stats),
        "connections": max(connections, default=None),
        "log": Path(f"{prefix}.log").read_text(),
    }


def client_connections() -> int:
    """PostgreSQL's client backends now (pg_stat_activity), this process's own included."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        return cursor.fetchone()[0]


def max_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        return int(cursor.fetchone()[0])


def cpu_per_request(cpu: dict, stats: list[dict]) -> dict:
    """Milliseconds of CPU per request answered in the measured time, by process."""
    requests = next((r["requests"] for r in stats if r["name"] == "Aggregated"), 0)
    if "start" not in cpu or "end" not in cpu or not requests:
        return {}
    return {name: (cpu["end"][name] - cpu["start"][name]) * 1000 / requests for name in cpu["start"]}


def read_stats(path: Path) -> list[dict]:
    with path.open() as f:
        return [
            {
                "name": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                "p50": row["50%"],
                "p95": row["95%"],
                "p99": row["99%"],
            }
            for row in csv.DictReader(f)
        ]


def table(title: str, result: dict) -> str:
    cpu = ", ".join(f"{name} {ms:.1f}" for name, ms in result.get("cpu", {}).items())
    lines = [
        f"\n{title}" + (f" (CPU per request, ms: {cpu})" if cpu else "") + "\n",
        "| page | requests | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = sorted(result["stats"], key=lambda r: (r["name"] == "Aggregated", -r["requests"]))
    rows = [r for r in rows if r["requests"] or r["name"] == "Aggregated"]  # the logins, before the clock
    for r in rows:
        name = "**all pages**" if r["name"] == "Aggregated" else r["name"]
        lines.append(
            f"| {name} | {r['requests']} | {r['rps']:.1f} | {r['p50']} | {r['p95']} | {r['p99']} | {r['failures']} |"
        )
    return "\n".join(lines)


def perf01_verdict(result: dict, report: list) -> int:
    """PERF-01's verdict: the locustfile's (no failure, each kind of page's p95 under its
    limit, as its exit code) and PostgreSQL's connections at most max_connections - 10.
    Adds it to the report; 1 when it failed."""
    log = result["log"]
    at = log.find("PERF-01 verdict: ")
    lines = log[at:].splitlines() if at >= 0 else ["PERF-01 verdict: none from locust"]
    # its heading and the lines indented under it
    verdict = "\n".join([lines[0], *itertools.takewhile(lambda line: line.startswith("  "), lines[1:])])
    limit = max_connections() - 10
    peak = result["connections"]
    connections_ok = peak is not None and peak <= limit
    mark = "pass" if connections_ok else "FAIL"
    report.append(f"\n{verdict}\n  {mark} PostgreSQL connections: at most {peak} (limit {limit})")
    passed = result["exit"] == 0 and connections_ok and verdict.startswith("PERF-01 verdict: passed")
    report.append(f"PERF-01 {'PASSED' if passed else 'FAILED'}")
    return 0 if passed else 1


def aggregate(result: dict) -> dict:
    return next(r for r in result["stats"] if r["name"] == "Aggregated")


def main(argv=None) -> int:
    args = parse_args(argv)
    if not shutil.which("locust", path=str(VENV_BIN)):
        raise SystemExit("locust is not installed: .venv/bin/pip install -r requirements-load.txt")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = server_env(args)
    data_file = out / "load_data.json"
    prepare(env, data_file)
    env["LOAD_DATA"] = str(data_file)
    # DEBUG off serves the static files from the manifest collectstatic writes (staticfiles/);
    # made again only when a static file is newer (it takes a minute: every file compressed).
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    sources = [p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file()]
    if not manifest.exists() or max(sources, default=0) > manifest.stat().st_mtime:
        print("collectstatic", flush=True)
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    gunicorn = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"), "crm_project.wsgi:application", "-b", f"127.0.0.1:{port}",
            "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning",
        ],
        cwd=ROOT, env=env, stdout=open(out / "gunicorn.log", "w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = None
    if args.redis_url:
        worker = subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "crm_project", "worker", "-l", "WARNING", "-c", "1"],
            cwd=ROOT, env=env, stdout=open(out / "celery.log", "w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
    report = [
        f"gunicorn {args.workers} workers x {args.threads} threads, DEBUG off, "
        f"{'a Celery worker on ' + args.redis_url if worker else 'no Celery worker (tasks in-process)'}; "
        f"{interpreter()}; load average before: {os.getloadavg()[0]:.1f}"
    ]
    failures = 0
    summary = [
        "| users | think | req/s | p50 ms | p95 ms | p99 ms | failures |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    try:
        wait_for(port)
        for _ in range(args.workers):  # each worker loads the URLs and templates before the clock starts
            urllib.request.urlopen(urllib.request.Request(f"{host}/login/", headers={"X-Forwarded-Proto": "https"}))
        steps = (
            [(50, args.soak_minutes * 60)] if args.soak else [(int(u), args.duration) for u in args.users.split(",")]
        )
        memory = (lambda: rss_mb(gunicorn.pid)) if args.soak else None
        for users, duration in steps:
            print(f"  server drained in {drained(host):.0f} s", flush=True)
            prefix = out / f"load_{users}"
            result = run_locust(args, env, host, users, duration, args.think, prefix, memory, gunicorn.pid)
            report.append(table(f"{users} users, {args.think} s think time, {duration} s:", result))
            a = aggregate(result)
            # a step without a single answered request failed too (the smoke's check)
            failures += a["failures"] + (result["exit"] not in (0, 1)) + (a["requests"] == 0)
            summary.append(
                f"| {users} | {args.think} s | {a['rps']:.1f} | {a['p50']} | {a['p95']} | {a['p99']} "
                f"| {a['failures']} |"
            )
            if args.perf01:
                failures += perf01_verdict(result, report)
            if result["memory"]:
                samples = result["memory"]
                base = next((mb for t, mb in samples if t >= 300), samples[0][1])
                last = samples[-1][1]
                report.append(
                    f"\nmemory of gunicorn (master + workers): {base:.0f} MB after 5 min, {last:.0f} MB at the end "
                    f"({(last / base - 1) * 100:+.1f} %); samples: {json.dumps(samples)}"
                )
        if args.saturation_users and not args.soak:
            users = args.saturation_users
            print(f"  server drained in {drained(host):.0f} s", flush=True)
            result = run_locust(args, env, host, users, args.duration, "0", out / "load_saturation", None, gunicorn.pid)
            report.append(table(f"saturation: {users} users, no think time, {args.duration} s:", result))
            a = aggregate(result)
            failures += a["failures"]
            summary.append(
                f"| {users} | none | {a['rps']:.1f} | {a['p50']} | {a['p95']} | {a['p99']} | {a['failures']} |"
            )
    finally:
        for process in (worker, gunicorn):
            if process is not None:
                process.send_signal(signal.SIGTERM)
        for process in (worker, gunicorn):
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    report.append(f"\nload average after: {os.getloadavg()[0]:.1f}\n")
    print("\n".join(report))
    print("\n".join(summary))
    if failures:
        print(f"\n{failures} failed requests (see {out}/load_*.log and gunicorn.log)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
