from datetime import date
from decimal import Decimal

from loyalty.models import Program, Tier


def points_program(**fields) -> Program:
    values = {
        "name": "Bonus",
        "kind": Program.Kind.POINTS,
        "earn_rate": Decimal("0.1"),
        "point_value": Decimal("0.5"),
        "expiry_days": 365,
    }
    values.update(fields)
    return Program.objects.create(**values)


def tiered_program(**fields) -> Program:
    values = {"name": "Tiers", "kind": Program.Kind.TIERED, "tier_window_months": 12, "tier_grace_days": 30}
    values.update(fields)
    program = Program.objects.create(**values)
    Tier.objects.create(program=program, name="Silver", rank=1, discount_percent=Decimal("3"))
    Tier.objects.create(
        program=program, name="Gold", rank=2, min_class="B", min_revenue=Decimal("10000"), discount_percent=Decimal("5")
    )
    Tier.objects.create(
        program=program,
        name="Platinum",
        rank=3,
        min_class="A",
        min_revenue=Decimal("50000"),
        discount_percent=Decimal("8"),
    )
    return program


D0 = date(2026, 1, 10)
