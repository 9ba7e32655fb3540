"""crm_project.wsgi: what a gunicorn worker's process is set up with before its first request
(probed in a process of its own: importing the module here would freeze this one's objects)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import gc, json, crm_project.wsgi as w; "
    "print(json.dumps([gc.get_freeze_count(), gc.get_threshold(), w.GC_YOUNG_THRESHOLD]))"
)


def test_a_worker_freezes_its_startup_objects_and_collects_young_objects_less_often():
    answer = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr
    frozen, threshold, young = json.loads(answer.stdout.strip().splitlines()[-1])
    assert frozen > 10_000  # Django, the URLconf and every view module
    assert young > 700  # Python's default
    assert threshold == [young, 10, 10]
