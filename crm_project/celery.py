"""The Celery app. Without REDIS_URL settings make every task run in-process (eager)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")

app = Celery("crm_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="crm_project.health_check")
def health_check_task() -> str:
    """Proves a worker is alive and reaches the database; `manage.py` callers and the
    tests use it. Returns a short summary."""
    from django.contrib.auth import get_user_model

    return f"ok: {get_user_model().objects.count()} users"
