"""Median server time and query count of the pipeline pages (board, deal list, funnel,
control points, deal page) at 200,000 deals, on PostgreSQL.

    python bench/bench_deals.py [--deals 200000] [--customers 20000] [--database crm_bench_deals] [--reuse]

It creates and migrates its own database, seeds customers (three managers in two teams
and a director of both), 30 products in five product lines, and the deals: created over
two years, open, won and lost at every stage, each with its lines, its stage history
(a StageChange per move, as the pipeline writes them), its payments and its control
dates. Then it requests each page through Django's test client (in-process: the time is
the server's, without network) as a manager (a third of the deals) and as the director
(all of them), and prints a Markdown table.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNK = 20_000


def pages(today, values):
    year_ago = (today - timedelta(days=365)).isoformat()
    return [
        ("board", "/deals/"),
        ("board, filtered by sale type", "/deals/?sale_type=long_push"),
        ("deal list", "/deals/list/"),
        ("deal list, filtered + sorted by amount", "/deals/list/?stage=3&status=open&sort=-amount"),
        ("deal list, product line", f"/deals/list/?product_line={values['line']}"),
        ("deal list, page 500", "/deals/list/?page=500"),
        ("funnel, last 3 months", "/deals/funnel/"),
        ("funnel, last 12 months", f"/deals/funnel/?start={year_ago}&end={today.isoformat()}"),
        (
            "funnel, 12 months, product line + sale type",
            f"/deals/funnel/?start={year_ago}&end={today.isoformat()}"
            f"&product_line={values['line']}&sale_type=long_pull",
        ),
        ("control points", "/deals/control-points/"),
        ("deal page", f"/deals/{values['deal']}/"),
    ]


def create_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def seed(deals: int, customers: int) -> None:
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from customers.access import DIRECTOR, MANAGER
    from customers.models import Customer, Product, ProductLine, SalesTeam, TeamMembership
    from sales_pipeline.deal_rules import line_net
    from sales_pipeline.models import Deal, DealLine, Payment, RefusalReason, Stage, StageChange
    from tests.factories import UserFactory

    rng = random.Random(1)
    started = time.perf_counter()
    teams = [SalesTeam.objects.create(name=f"Bench {n}") for n in (1, 2)]
    managers = []
    for number in range(3):
        user = UserFactory(username=f"bench_manager{number}", first_name="Bench", last_name=f"Manager {number}")
        user.groups.add(Group.objects.get(name=MANAGER))
        TeamMembership.objects.create(user=user, team=teams[number % 2])
        managers.append(user)
    director = UserFactory(username="bench_director")
    director.groups.add(Group.objects.get(name=DIRECTOR))
    for team in teams:
        team.directors.add(director)
    lines = [ProductLine.objects.create(name=f"Line {n}") for n in range(5)]
    products = Product.objects.bulk_create(
        Product(sku=f"D{n:03d}", name=f"Product {n:02d}", line=lines[n % 5]) for n in range(30)
    )
    Customer.objects.bulk_create(
        (
            Customer(
                name=f"Deal customer {n:06d}",
                normalized_name=f"deal customer {n:06d}",
                external_ref=f"D{n:06d}",
                manager=managers[n % 3],
                city="Leeds",
            )
            for n in range(customers)
        ),
        batch_size=5000,
    )
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", "manager_id"))
    reasons = {stage: list(RefusalReason.objects.filter(stage=stage)) for stage in Stage}
    now = timezone.now()
    today = timezone.localdate()
    for start in range(0, deals, CHUNK):
        batch, plans = [], []
        for number in range(start, min(start + CHUNK, deals)):
            customer_id, manager_id = customer_ids[number % len(customer_ids)]
            outcome = rng.choices(["open", "won", "lost"], [0.4, 0.3, 0.3])[0]
            final = 6 if outcome == "won" else rng.choice([1, 1, 2, 2, 3, 4, 5, 6])
            times = [now - timedelta(days=rng.randint(0, 730), seconds=rng.randint(0, 86_400))]
            for _ in range(final - 1):
                times.append(min(times[-1] + timedelta(days=rng.randint(1, 20)), now))
            closed = min(times[-1] + timedelta(days=rng.randint(1, 20)), now) if outcome != "open" else None
            chosen = rng.sample(products, rng.randint(1, 2))
            deal_lines = [
                DealLine(
                    product=p, quantity=rng.randint(1, 20), price=Decimal(rng.randint(10, 5000)), discount=Decimal(0)
                )
                for p in chosen
            ]
            day = timezone.localdate(times[-1])
            deal = Deal(
                customer_id=customer_id,
                manager_id=manager_id,
                title=f"Deal {number}",
                amount=sum(line_net(line) for line in deal_lines),
                sale_type=rng.choice(Deal.SaleType.values),
                stage=final,
                stage_entered_at=times[-1],
                status=outcome,
                created_at=times[0],
                closed_at=closed,
                minutes_sent=day if final > 1 else None,
                offer_sent=day if final >= 2 else None,
                offer_expires=day + timedelta(days=14) if final >= 2 else None,
                contract_signed=day if final >= 3 else None,
                signatories="CEO" if final >= 3 else "",
                invoice_number=f"B{number}" if final >= 4 else "",
                invoice_date=day if final >= 4 else None,
                invoice_expires=day + timedelta(days=14) if final >= 4 else None,
                event_date=day + timedelta(days=5) if final >= 5 else None,
                act_signed=day if final == 6 else None,
                survey_date=day + timedelta(days=14) if final == 6 else None,
                next_contact=day + timedelta(days=60) if final == 6 else None,
                lost_reason=rng.choice(reasons[final]) if outcome == "lost" else None,
                lost_comment="Bench" if outcome == "lost" else "",
                retry_date=min(day + timedelta(days=90), today + timedelta(days=30)) if outcome == "lost" else None,
            )
            batch.append(deal)
            plans.append((times, closed, outcome, deal_lines))
        Deal.objects.bulk_create(batch, batch_size=5000)
        changes, all_lines, payments = [], [], []
        for deal, (times, closed, outcome, deal_lines) in zip(batch, plans, strict=True):
            changes.append(StageChange(deal=deal, from_stage=None, to_stage=1, changed_at=times[0], days_in_stage=0))
            for stage in range(2, deal.stage + 1):
                days = (times[stage - 1] - times[stage - 2]).days
                changes.append(
                    StageChange(
                        deal=deal, from_stage=stage - 1, to_stage=stage, changed_at=times[stage - 1], days_in_stage=days
                    )
                )
            if closed is not None:
                changes.append(
                    StageChange(
                        deal=deal,
                        from_stage=deal.stage,
                        to_stage=deal.stage,
                        to_status=outcome,
                        changed_at=closed,
                        days_in_stage=(closed - times[-1]).days,
                    )
                )
            for line in deal_lines:
                line.deal = deal
                all_lines.append(line)
            if deal.stage >= 4:
                paid = deal.amount if outcome == "won" else (deal.amount / 2).quantize(Decimal("0.01"))
                payments.append(Payment(deal=deal, date=timezone.localdate(times[3]), amount=paid))
        StageChange.objects.bulk_create(changes, batch_size=10_000)
        DealLine.objects.bulk_create(all_lines, batch_size=10_000)
        Payment.objects.bulk_create(payments, batch_size=10_000)
        print(f"  {start + len(batch):,} deals", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded {deals:,} deals for {customers:,} customers in {time.perf_counter() - started:.0f} s", flush=True)


def measure(username: str, repeats: int) -> dict[str, tuple[float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.models import ProductLine
    from sales_pipeline.models import Deal

    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    values = {
        "line": ProductLine.objects.order_by("pk").first().pk,
        "deal": Deal.objects.visible_to(user).filter(stage__gte=4).order_by("pk").first().pk,
    }
    results = {}
    for label, url in pages(timezone.localdate(), values):
        client.get(url)  # warm-up
        times = []
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        results[label] = (statistics.median(times) * 1000, len(queries))
        print(f"{username:15} {label:45} {results[label][0]:8.1f} ms {results[label][1]:4d} queries", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--database", default="crm_bench_deals")
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()

    create_database(args.database)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    os.environ["DEBUG"] = "true"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from sales_pipeline.models import Deal, StageChange

    if not (args.reuse and Deal.objects.count() >= args.deals):
        call_command("flush", interactive=False, verbosity=0)
        from sales_pipeline.demo_deals import ensure_reference_data

        ensure_reference_data()  # flush empties what migration 0003 seeded
        seed(args.deals, args.customers)
    manager = measure("bench_manager0", args.repeats)
    director = measure("bench_director", args.repeats)
    print(
        f"\n{Deal.objects.count():,} deals ({StageChange.objects.count():,} stage changes), "
        f"PostgreSQL, median of {args.repeats}; the manager sees a third of the deals, the director all:\n"
    )
    print("| page | manager | queries | director | queries |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, (ms, queries) in manager.items():
        d_ms, d_queries = director[label]
        print(f"| {label} | {ms:.0f} ms | {queries} | {d_ms:.0f} ms | {d_queries} |")


if __name__ == "__main__":
    main()
