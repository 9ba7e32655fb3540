"""A Celery worker app for tests/reliability/test_job_kill.py: the real app, whose
nightly recompute stops for a while after writing the new snapshot rows (inside the
snapshot's transaction, not committed) and says so in the file $CRM_PAUSE_FILE, so the
test can SIGKILL the worker at that point."""

import os
import time
from pathlib import Path

import django

django.setup()

from crm_project.celery import app  # noqa: E402
from segmentation import services  # noqa: E402

_replace = services.snapshot_replace


def _replace_then_pause(**kwargs):
    count = _replace(**kwargs)
    Path(os.environ["CRM_PAUSE_FILE"]).write_text(str(count))
    time.sleep(float(os.environ.get("CRM_PAUSE_SECONDS", "120")))
    return count


services.snapshot_replace = _replace_then_pause

__all__ = ["app"]
