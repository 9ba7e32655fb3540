"""Demo classification: today and the last eight period ends, so every page has data."""

from crm_project.dates import months_before

from .models import ClassificationSettings, RecomputeRun
from .services import segments_recompute


def seed_demo_classes(demo) -> None:
    period = ClassificationSettings.current().period_months
    for j in range(8):
        segments_recompute(as_of=months_before(demo.today, j * period), triggered_by="seed_demo")
    demo.say("Classified the customers as of today and the last eight period ends.")


def reset_demo() -> None:
    RecomputeRun.objects.all().delete()
