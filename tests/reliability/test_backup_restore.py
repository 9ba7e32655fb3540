"""RES-03: the scripted pg_dump / pg_restore drill brings back identical data, history and
points ledgers, on a PostgreSQL cluster of our own filled by seed_demo."""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings

sys.path.insert(0, str(settings.BASE_DIR / "scripts"))
import backup_drill  # noqa: E402


def manage(database_url, *args):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DEBUG", "SECRET_KEY"}}
    env["DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, check=True,
                   capture_output=True, timeout=600)


@pytest.fixture
def seeded(own_postgres):
    own_postgres.sql("CREATE DATABASE crm")
    url = own_postgres.url("crm")
    manage(url, "migrate", "--noinput", "-v0")
    manage(url, "seed_demo", "--customers", "40")
    return url


def test_the_drill_restores_an_identical_copy_and_notices_a_difference(seeded, own_postgres, tmp_path):
    out = io.StringIO()
    assert backup_drill.drill(seeded, tmp_path / "crm.dump", keep=True, out=out) == 0, out.getvalue()
    report = out.getvalue()
    assert "identical" in report
    # the demo filled what matters: customers, their history and the points ledger
    for table in ("customers_customer", "customers_historicalcustomer", "loyalty_pointsentry"):
        assert int(own_postgres.sql(f"SELECT count(*) FROM {table}", database="crm")) > 0, table
        assert table in report
    # the comparison is not blind: one changed ledger row in the copy is reported
    own_postgres.sql("UPDATE loyalty_pointsentry SET points = points + 1 WHERE id = (SELECT min(id) FROM "
                     "loyalty_pointsentry)", database="crm_drill")
    with backup_drill.connect(seeded) as source, backup_drill.connect(seeded, "crm_drill") as copy:
        problems = backup_drill.differences(backup_drill.fingerprints(source), backup_drill.fingerprints(copy))
    assert len(problems) == 1 and problems[0].startswith("loyalty_pointsentry:")
