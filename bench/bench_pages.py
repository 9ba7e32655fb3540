"""Median server time and query count of the pages a sales manager opens all day, at
50,000 customers x 30 products, on PostgreSQL.

    python bench/bench_pages.py [--customers 50000] [--products 30] [--database crm_bench_pages] [--reuse]

It creates and migrates its own database, seeds customers (spread over three managers,
two teams), 30 target products in six segments, product statuses, interactions and
planned contacts, then requests each page through Django's test client (in-process:
the time is the server's, without network) and prints a Markdown table.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    ("customer list", "/customers/"),
    ("customer list, filtered + sorted", "/customers/?city=lee&sort=-name"),
    ("customer list, page 500", "/customers/?page=500"),
    ("managed base", "/customers/managed-base/"),
    ("managed base, one segment, by maturity", "/customers/managed-base/?segment={segment}&sort=-maturity"),
    ("customer card", "/customers/{customer}/"),
    ("agenda", "/customers/agenda/"),
    ("agenda month", "/customers/agenda/month/"),
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


def seed(customers: int, products: int) -> None:
    from django.contrib.auth.models import Group
    from django.db import connection

    from customers.access import MANAGER
    from customers.models import (
        Customer,
        CustomerProduct,
        Interaction,
        PlannedContact,
        PortraitEntry,
        Product,
        ProductLine,
        SalesTeam,
        Segment,
        SegmentRule,
        TeamMembership,
    )
    from customers.segment_rules import segments_assign
    from tests.factories import UserFactory

    rng = random.Random(1)
    teams = [SalesTeam.objects.create(name=f"Bench {n}") for n in (1, 2)]
    managers = []
    for number in range(3):
        user = UserFactory(username=f"bench_manager{number}")
        user.groups.add(Group.objects.get(name=MANAGER))
        TeamMembership.objects.create(user=user, team=teams[number % 2])
        managers.append(user)
    lines = [ProductLine.objects.create(name=f"Line {n}") for n in range(5)]
    catalogue = Product.objects.bulk_create(
        Product(sku=f"B{n:03d}", name=f"Product {n:02d}", line=lines[n % 5]) for n in range(products)
    )
    industries = ["Manufacturing", "Retail", "Logistics", "Construction", "Education", "Healthcare"]
    for number, industry in enumerate(industries):
        segment = Segment.objects.create(name=industry, priority=number)
        SegmentRule.objects.create(segment=segment, field="industry", operator="eq", value=industry)
        PortraitEntry.objects.bulk_create(PortraitEntry(segment=segment, product=p) for p in rng.sample(catalogue, 10))
    cities = ["Leeds", "London", "York", "Hull", "Bath", "Derby"]
    started = time.perf_counter()
    Customer.objects.bulk_create(
        (
            Customer(
                name=f"Bench customer {n:06d}",
                normalized_name=f"bench customer {n:06d}",
                external_ref=f"B{n:06d}",
                manager=managers[n % 3],
                industry=rng.choice(industries),
                city=rng.choice(cities),
            )
            for n in range(customers)
        ),
        batch_size=5000,
    )
    segments_assign()
    ids = list(Customer.objects.values_list("pk", flat=True))
    statuses = [s for s, _ in CustomerProduct.Status.choices if s != "not_offered"]
    CustomerProduct.objects.bulk_create(
        (
            CustomerProduct(
                customer_id=cid,
                product=product,
                status=rng.choice(statuses),
                status_date=date.today() - timedelta(days=rng.randint(0, 700)),
            )
            for cid in ids
            for product in rng.sample(catalogue, 8)
        ),
        batch_size=10000,
    )
    today = date.today()
    Interaction.objects.bulk_create(
        (
            Interaction(customer_id=cid, manager=managers[cid % 3], summary="Call about the next order", kind="call")
            for cid in ids
            for _ in range(3)
        ),
        batch_size=10000,
    )
    PlannedContact.objects.bulk_create(
        (
            PlannedContact(
                customer_id=cid,
                manager=managers[cid % 3],
                purpose="Follow up",
                due_date=today + timedelta(days=rng.randint(-30, 60)),
            )
            for cid in ids
        ),
        batch_size=10000,
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded {customers} customers in {time.perf_counter() - started:.0f} s", flush=True)


def measure(repeats: int) -> list[tuple[str, float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from customers.models import Customer, Segment

    manager = get_user_model().objects.get(username="bench_manager0")
    client = Client()
    client.force_login(manager)
    values = {
        "segment": Segment.objects.order_by("priority").first().pk,
        "customer": Customer.objects.filter(manager=manager).order_by("pk").first().pk,
    }
    results = []
    for label, path in PAGES:
        url = path.format(**values)
        if client.get(url).status_code == 404:  # warm-up; a page not built yet is skipped
            print(f"{label:45} (no such page)", flush=True)
            continue
        times = []
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        results.append((label, statistics.median(times) * 1000, len(queries)))
        print(f"{label:45} {results[-1][1]:8.1f} ms {results[-1][2]:4d} queries", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=30)
    parser.add_argument("--database", default="crm_bench_pages")
    parser.add_argument("--repeats", type=int, default=15)
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
    from customers.models import Customer

    if not (args.reuse and Customer.objects.count() >= args.customers):
        call_command("flush", interactive=False, verbosity=0)
        seed(args.customers, args.products)
    results = measure(args.repeats)
    print(f"\n{Customer.objects.count()} customers, {args.products} products, PostgreSQL, median of {args.repeats}:\n")
    print("| page | median server time | queries |")
    print("| --- | ---: | ---: |")
    for label, ms, queries in results:
        print(f"| {label} | {ms:.0f} ms | {queries} |")


if __name__ == "__main__":
    main()
