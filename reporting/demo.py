"""Demo data for reporting: monthly plans for the demo managers (the last twelve months and
the next three), and the preset periods' KPI rows filled ahead, so the pages open at once."""

import random
from decimal import Decimal

from crm_project.dates import months_before

from .models import HealthThreshold, KpiPeriod, Plan
from .services import kpi_presets_fill


def seed_demo_reporting(demo) -> None:
    rng = random.Random(demo.seed + 90)
    managers = [user for name, user in sorted(demo.users.items()) if name.startswith("manager")]
    first = demo.today.replace(day=1)
    plans = []
    for manager in managers:
        base = Decimal(rng.randrange(60, 120) * 1000)
        for k in range(-3, 12):
            plans.append(
                Plan(
                    manager=manager,
                    month=months_before(first, k),
                    revenue=base,
                    primary=(base * Decimal("0.2")).quantize(Decimal("1")),
                    new_direction=(base * Decimal("0.1")).quantize(Decimal("1")),
                )
            )
    Plan.objects.bulk_create(plans, ignore_conflicts=True)
    filled = kpi_presets_fill(today=demo.today)
    demo.say(f"Planned {len(managers)} managers' months; filled {len(filled)} KPI periods.")


def reset_demo() -> None:
    KpiPeriod.objects.all().delete()  # their facts and rows go with them
    Plan.objects.all().delete()
    HealthThreshold.objects.all().delete()
