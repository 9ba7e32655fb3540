"""Settings come from the environment; production refuses the development secret."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "crm.example.com",
}


def manage(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_with_debug_off_the_development_secret_is_refused():
    result = manage("check", env={"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_seed_demo_refuses_to_run_in_production():
    result = manage("seed_demo", env=PRODUCTION)
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def settings_seen_with(env: dict, *names: str) -> list[str]:
    """The settings a fresh process computes from exactly `env` (plus PATH and the like)."""
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}}
    environment.update(env)
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'crm_project.settings'; "
        "from django.conf import settings as s; print(" + ", ".join(names) + ")"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True, timeout=60
    )
    return result.stdout.split()


def test_without_variables_it_runs_on_sqlite_with_in_process_tasks():
    seen = settings_seen_with({}, "s.DATABASES['default']['ENGINE']", "s.CELERY_TASK_ALWAYS_EAGER")
    assert seen == ["django.db.backends.sqlite3", "True"]


def test_database_url_and_redis_url_switch_to_the_servers():
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/crm", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    seen = settings_seen_with(
        env, "s.DATABASES['default']['ENGINE']", "s.CELERY_TASK_ALWAYS_EAGER", "s.CELERY_BROKER_URL"
    )
    assert seen == ["django.db.backends.postgresql", "False", "redis://127.0.0.1:6379/0"]
