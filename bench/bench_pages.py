#!/usr/bin/env python
"""Median and p95 server time and query count of every page a sales manager or a sales
director opens, on PostgreSQL, at 50,000 customers, 200,000 deals and 4M settlement
lines (issue 15), or at a tenth of that (--small: 5,000 customers, 20,000 deals, 400,000
lines) to show how a page grows with the data.

    .venv/bin/python bench/bench_pages.py --database crm_bench_pages50k [--reuse] [--repeats 15]
    .venv/bin/python bench/bench_pages.py --database crm_bench_pages5k --small [--reuse]
    .venv/bin/python bench/bench_pages.py ... --only customer   # pages whose label has "customer"

The data comes from the other benches' loaders, combined as bench_reporting does:
bench_deals.seed (customers with 200,000 deals, three managers in two teams, a director)
and bench_recompute.generate (the ledger's customers and lines over the 30 months to
31 Mar 2026), the ledger's customers spread over the three managers. Then this script
adds what the other pages show: segments with rules and portraits, product statuses,
interactions and planned contacts, a classification run, a loyalty program with cards
for a fifth of the customers and their points, complaints for 2 % of the customers and
surveys for 4 %, and the KPI rows of Q1 2026 (bench_reporting.fill).

Each page is requested through Django's test client (in-process: the server's time
without the network) as a manager and as the director: one warm-up, then --repeats timed
requests; median, 95th percentile (nearest rank), the median CPU time of this process
(Python's share: views, templates, the driver; the database's is not in it) and the
queries of the last request.

With --production the pages are served as gunicorn serves them: DEBUG off (the static
files' manifest built first if missing), the process set up by crm_project.wsgi (its
startup objects frozen out of the garbage collector's sight), HTTPS as behind the proxy,
and no query log while timed: the queries are counted on one request between the
warm-up and the timed ones. Without it, DEBUG is on and every timed request also logs its
SQL, as in every round before the twelfth (the README's earlier tables).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import random
import statistics
import sys
import time
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_recompute, bench_reporting  # noqa: E402

AS_OF = date(2026, 3, 31)
KPI = bench_reporting.QUERY


def pages(values: dict) -> list[tuple[str, str, str]]:
    """(group, label, url): the group is the issue's target class."""
    v = values
    return [
        ("list", "customer list", "/customers/"),
        ("list", "customer list, filtered + sorted", "/customers/?city=lee&sort=-name"),
        ("list", "customer list, search", "/customers/?q=bench+customer+12"),
        ("list", "customer list, companies by city", "/customers/?kind=company&sort=city"),  # PERF-01's
        ("list", "customer list, page 200", "/customers/?page=200"),
        ("list", "global search", "/search/?q=customer+123"),
        ("list", "agenda", "/customers/agenda/"),
        ("list", "agenda month", "/customers/agenda/month/"),
        ("card", "customer card", f"/customers/{v['customer']}/"),
        ("card", "log a call (form)", f"/customers/{v['customer']}/interactions/new/?where=card"),
        ("heavy", "managed base", "/customers/managed-base/"),
        (
            "heavy",
            "managed base, one segment, by maturity",
            f"/customers/managed-base/?segment={v['segment']}&sort=-maturity",
        ),
        ("heavy", "portrait matrix", "/customers/portrait/"),
        ("list", "deal board", "/deals/"),
        ("list", "deal list", "/deals/list/"),
        ("list", "deal list, filtered + sorted", "/deals/list/?stage=3&status=open&sort=-amount"),
        ("list", "deal list, open by amount", "/deals/list/?status=open&sort=-amount"),  # the load test's director
        ("list", "deal list, by title", "/deals/list/?sort=title"),
        ("list", "deal list, page 200", "/deals/list/?page=200"),
        ("card", "deal page", f"/deals/{v['deal']}/"),
        ("card", "new deal (form)", "/deals/new/"),
        ("heavy", "funnel", "/deals/funnel/"),
        ("heavy", "control points", "/deals/control-points/"),
        ("list", "settlement lines", "/settlements/"),
        ("list", "settlement imports", "/settlements/imports/"),
        ("heavy", "classes overview", "/segments/"),
        ("heavy", "lifecycle", "/segments/lifecycle/"),
        ("list", "class changes", "/segments/changes/"),
        ("list", "nudge", "/segments/nudge/"),
        ("list", "classification runs", "/segments/runs/"),
        ("list", "loyalty cards", "/loyalty/"),
        ("card", "loyalty card", f"/loyalty/cards/{v['card']}/"),
        ("card", "issue a card (form)", "/loyalty/cards/new/"),
        ("list", "point of sale", "/loyalty/pos/"),
        ("heavy", "loyalty measures", "/loyalty/measures/"),
        ("list", "campaigns", "/loyalty/campaigns/"),
        ("list", "complaints", "/complaints/"),
        ("card", "complaint", f"/complaints/{v['complaint']}/"),
        ("card", "register a complaint (form)", "/complaints/new/"),
        ("heavy", "complaint statistics", "/complaints/statistics/"),
        ("list", "surveys", "/complaints/surveys/"),
        ("card", "survey a customer (form)", "/complaints/surveys/new/"),
        ("heavy", "dashboard", f"/reports/?{KPI}"),
        ("heavy", "KPI table by manager", f"/reports/kpis/?{KPI}"),
        ("heavy", "KPI table by customer", f"/reports/kpis/customers/?{KPI}"),
        ("heavy", "process health", "/reports/health/"),
        ("list", "plans", "/reports/plans/"),
    ]


TARGET_MS = {"list": 30, "card": 20, "heavy": 60}

SMALL = {"customers": 4_000, "deal_customers": 1_000, "deals": 20_000, "lines": 400_000}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="crm_bench_pages")
    parser.add_argument("--small", action="store_true", help="5,000 customers, 20,000 deals, 400,000 lines")
    parser.add_argument("--lines", type=int, default=4_000_000)
    parser.add_argument("--customers", type=int, default=40_000, help="customers of the ledger")
    parser.add_argument("--deal-customers", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--only", default="", help="only pages whose label contains one of these (comma-separated)")
    parser.add_argument("--users", default="bench_manager0,bench_director")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--production", action="store_true", help="DEBUG off, no query log while timed, as gunicorn serves"
    )
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    args = parser.parse_args(argv)
    if args.small:
        for key, value in SMALL.items():
            setattr(args, key, value)
    return args


def seed_rest(rng: random.Random) -> None:
    """What the pages beyond customers, deals and the ledger show, in bulk."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from complaints.models import CauseCategory, Complaint, Question, Questionnaire, Survey
    from customers.models import (
        Customer,
        CustomerProduct,
        Interaction,
        PlannedContact,
        PortraitEntry,
        Product,
        Segment,
        SegmentRule,
    )
    from customers.segment_rules import segments_assign
    from loyalty.models import Card, PointsEntry, Program

    users = {u.username: u for u in get_user_model().objects.filter(username__startswith="bench_")}
    managers = [users[f"bench_manager{n}"] for n in range(3)]
    industries = ["Manufacturing", "Retail", "Logistics", "Construction", "Education", "Healthcare"]
    cities = ["Leeds", "London", "York", "Hull", "Bath", "Derby"]
    with connection.cursor() as cursor:
        # industry and city by id, so segment rules and filters select something
        cursor.execute(
            "UPDATE customers_customer "
            "SET industry = (%s::text[])[1 + id %% 6], city = (%s::text[])[1 + (id / 6) %% 6]",
            [industries, cities],
        )
    catalogue = list(Product.objects.order_by("pk")[:60])
    for number, industry in enumerate(industries):
        segment = Segment.objects.create(name=industry, priority=number)
        SegmentRule.objects.create(segment=segment, field="industry", operator="eq", value=industry)
        PortraitEntry.objects.bulk_create(PortraitEntry(segment=segment, product=p) for p in rng.sample(catalogue, 10))
    segments_assign()
    customers = list(Customer.objects.order_by("pk").values_list("pk", "manager_id"))
    today = timezone.localdate()
    statuses = [s for s, _ in CustomerProduct.Status.choices if s != "not_offered"]
    CustomerProduct.objects.bulk_create(
        (
            CustomerProduct(
                customer_id=cid,
                product=product,
                status=rng.choice(statuses),
                status_date=today - timedelta(days=rng.randint(0, 700)),
            )
            for cid, _ in customers
            for product in rng.sample(catalogue[:30], 4)
        ),
        batch_size=10_000,
        ignore_conflicts=True,
    )
    Interaction.objects.bulk_create(
        (
            Interaction(customer_id=cid, manager_id=mid, summary="Call about the next order", kind="call")
            for cid, mid in customers
            for _ in range(2)
        ),
        batch_size=10_000,
    )
    PlannedContact.objects.bulk_create(
        (
            PlannedContact(
                customer_id=cid,
                manager_id=mid,
                purpose="Follow up",
                due_date=today + timedelta(days=rng.randint(-30, 60)),
            )
            for cid, mid in customers
        ),
        batch_size=10_000,
    )
    # Loyalty: a points program, cards for a fifth of the customers, five entries each.
    program = Program.objects.create(name="Bench points", kind=Program.Kind.POINTS, number_prefix="77")
    holders = [cid for cid, _ in customers if cid % 5 == 0]
    Card.objects.bulk_create(
        (Card(number=f"77{cid:012d}", program=program, holder_id=cid, issued_on=date(2024, 1, 1)) for cid in holders),
        batch_size=10_000,
    )
    cards = list(Card.objects.filter(program=program).values_list("pk", flat=True))
    PointsEntry.objects.bulk_create(
        (
            PointsEntry(
                card_id=card,
                kind=PointsEntry.Kind.ADJUSTMENT,
                points=rng.randint(1, 500),
                remaining=0,
                date=date(2025, 1, 1) + timedelta(days=30 * k),
                reason="Bench",
            )
            for card in cards
            for k in range(5)
        ),
        batch_size=10_000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loyalty_card AS c SET balance = s.total FROM "
            "(SELECT card_id, sum(points) AS total FROM loyalty_pointsentry GROUP BY card_id) AS s "
            "WHERE s.card_id = c.id"
        )
    # Complaints for 2 % of the customers, surveys for 4 %.
    category = CauseCategory.objects.create(name="Bench cause")
    from customers.models import ProductLine

    questionnaire = Questionnaire.objects.create(name="Bench questionnaire", product_line=ProductLine.objects.first())
    Question.objects.create(questionnaire=questionnaire, text="How satisfied are you?")
    steps = [s for s, _ in Complaint._meta.get_field("step").choices]
    now = timezone.now()
    Complaint.objects.bulk_create(
        (
            Complaint(
                customer_id=cid,
                product=rng.choice(catalogue),
                description="Bench complaint",
                step=rng.choice(steps),
                owner_id=mid,
                cause_category=category,
                step_started=today - timedelta(days=rng.randint(0, 60)),
                step_deadline=today + timedelta(days=rng.randint(-10, 20)),
                registered_at=now - timedelta(days=rng.randint(0, 400)),
            )
            for cid, mid in customers
            if cid % 50 == 0
        ),
        batch_size=10_000,
    )
    Survey.objects.bulk_create(
        (
            Survey(
                customer_id=cid,
                product=rng.choice(catalogue),
                questionnaire=questionnaire,
                created_at=now - timedelta(days=rng.randint(0, 400)),
            )
            for cid, _ in customers
            if cid % 25 == 0
        ),
        batch_size=10_000,
    )
    del managers


def build(args) -> None:
    from django.db import connection

    from segmentation.services import segments_recompute

    bench_reporting.build(args)
    bench_recompute.log("seeding segments, statuses, interactions, contacts, loyalty, complaints")
    seed_rest(random.Random(1))
    bench_recompute.log("classification run")
    segments_recompute(as_of=AS_OF)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    bench_reporting.fill()


def first_ids(username: str) -> dict:
    from django.contrib.auth import get_user_model

    from complaints.models import Complaint
    from customers.models import Customer, Segment
    from loyalty.models import Card
    from sales_pipeline.models import Deal

    user = get_user_model().objects.get(username=username)
    manager = get_user_model().objects.get(username="bench_manager0")
    # The manager's own objects: the director sees them too.
    return {
        "segment": Segment.objects.order_by("priority").values_list("pk", flat=True).first(),
        "customer": Customer.objects.filter(manager=manager, deals__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first(),
        "deal": Deal.objects.filter(manager=manager).order_by("pk").values_list("pk", flat=True).first(),
        "card": Card.objects.filter(holder__manager=manager).order_by("pk").values_list("pk", flat=True).first(),
        "complaint": Complaint.objects.filter(customer__manager=manager)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first(),
        "user": user.pk,
    }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(username: str, repeats: int, only: str, production: bool = False) -> dict[str, dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    results = {}
    for group, label, url in pages(first_ids(username)):
        if only and not any(part in label for part in only.split(",")):
            continue
        first = client.get(url, secure=production)  # warm-up
        if first.status_code in (403, 404):
            print(f"{username:15} {label:45} {first.status_code}", flush=True)
            continue
        if production:  # counted once, then timed without the query log
            with CaptureQueriesContext(connection) as captured:
                client.get(url, secure=True)
            count = len(captured)  # now: the capture reads the log when asked, and the log moves on
            logged = nullcontext
        else:
            logged = functools.partial(CaptureQueriesContext, connection)
        times, cpu = [], []
        for _ in range(repeats):
            with logged() as captured:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url, secure=production)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code} to {username}")
            if not production:
                count = len(captured)
        results[label] = {
            "group": group,
            "url": url,
            "median": statistics.median(times),
            "p95": p95(times),
            # this process's CPU (Python: views, templates, drivers), not the database's:
            # on a machine shared with other runs it moves much less than wall time
            "cpu": statistics.median(cpu),
            "queries": count,
        }
        r = results[label]
        print(
            f"{username:15} {label:45} {r['median']:7.1f} ms p95 {r['p95']:7.1f} cpu {r['cpu']:6.1f} "
            f"{r['queries']:4d} queries",
            flush=True,
        )
    return results


def serve_as_in_production() -> None:
    """The process as a gunicorn worker has it: the static files' manifest that DEBUG off
    reads (built once, as bench/load_test.py does), and crm_project.wsgi imported, which
    loads every view and freezes the startup objects."""
    from django.conf import settings
    from django.core.management import call_command

    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    import crm_project.wsgi  # noqa: F401


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.reuse:
        bench_recompute.recreate_database(args)
    bench_recompute.setup_django(args, debug=not args.production)
    bench_recompute.migrate()
    if not args.reuse:
        build(args)
    # As the nightly chain leaves it each morning: the loyalty measures' dates of today
    # stored per manager (nothing to do when they are fresh already).
    from loyalty.measure_store import measures_fill

    measures_fill()
    if args.build_only:
        return 0
    from customers.models import Customer
    from sales_pipeline.models import Deal, SettlementLine

    sizes = {
        "customers": Customer.objects.count(),
        "deals": Deal.objects.count(),
        "lines": SettlementLine.objects.count(),
    }
    if args.production:
        serve_as_in_production()
    users = args.users.split(",")
    figures = {user: measure(user, args.repeats, args.only, args.production) for user in users}
    print(
        f"\n{sizes['customers']:,} customers, {sizes['deals']:,} deals, {sizes['lines']:,} settlement lines; "
        f"PostgreSQL, in-process, {'DEBUG off' if args.production else 'DEBUG on'}, "
        f"median and p95 of {args.repeats} ({', '.join(users)}):\n"
    )
    print("| page | target | " + " | ".join(f"{u} median / p95 (Python CPU) | queries" for u in users) + " |")
    print("| --- | ---: | " + " | ".join("---: | ---:" for _ in users) + " |")
    labels = [label for _, label, _ in pages(first_ids(users[0])) if any(label in figures[u] for u in users)]
    for label in labels:
        group = next(figures[u][label]["group"] for u in users if label in figures[u])
        cells = []
        for u in users:
            r = figures[u].get(label)
            cells.append(f"{r['median']:.0f} / {r['p95']:.0f} ms ({r['cpu']:.0f}) | {r['queries']}" if r else "- | -")
        print(f"| {label} | {TARGET_MS[group]} ms | " + " | ".join(cells) + " |")
    if args.json:
        report = {"sizes": sizes, "production": args.production, "figures": figures}
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
