"""One settings module for every environment; the environment carries the differences.

With no variables at all the CRM runs on an embedded SQLite file and runs Celery tasks
in-process, so a newcomer needs no server. `DATABASE_URL` switches to PostgreSQL and
`REDIS_URL` to a real Celery broker with a worker and one beat process.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-not-secret-change-me"

env = environ.Env()

#
# Core
#

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY: the development secret must not run with DEBUG off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en-gb"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "axes",
    "bootstrap",  # Bootstrap 5 css/js shipped inside the django-bootstrap-static wheel
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "django_celery_beat",
    "simple_history",
    "csp",
    # ours
    "customers",
    "segmentation",
    "sales_pipeline",
    "loyalty",
    "complaints",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # saves a signed-in session when its idle clock is due a renewal (once a minute at most)
    "crm_project.session_renewal.SessionRenewalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # ?per_page= kept between 1 and 500 on every list page
    "crm_project.paging.PagingGuardMiddleware",
    # a request id on every response; refused objects logged to crm.security
    "crm_project.security_log.SecurityLogMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # last, so that it sees the final response of a failed login
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm_project.urls"
WSGI_APPLICATION = "crm_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "customers.context_processors.navigation",
            ],
            # the tables' body rendered in Python (issue 15: the per-cell template cost)
            # and forms without crispy's per-field templates (crm_project.form_tags)
            # and object page addresses without a full reverse() each (crm_project.object_urls)
            "libraries": {
                "crm_tables": "crm_project.tables",
                "crm_forms": "crm_project.form_tags",
                "crm_urls": "crm_project.object_urls",
            },
        },
    },
]

#
# Database: SQLite by default, PostgreSQL through DATABASE_URL
#

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Statements compiled once (crm_project.prepared) are also prepared on the PostgreSQL
# server, once per connection. Off behind a pooler in transaction mode (pgbouncer), where
# a connection's next transaction may run in another server session.
DATABASE_SERVER_PREPARED = env.bool("DATABASE_SERVER_PREPARED", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    # The planner's default random_page_cost (4) prices an index probe for a spinning disk;
    # on SSD, or a database held in memory, 1.1 is the usual value, and with it the scoped
    # joins of a few rows (the agenda's complaints, a card's panels) probe customers by key
    # instead of scanning them all (issue 15). Sent with the connection, no extra round trip;
    # DATABASE_RANDOM_PAGE_COST="" keeps the server's own setting (PgBouncer, tuned servers).
    PAGE_COST = env.str("DATABASE_RANDOM_PAGE_COST", default="1.1")
    if PAGE_COST:
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c random_page_cost={float(PAGE_COST)}".strip()
else:
    # Covering indexes (INCLUDE columns, e.g. the funnel's DealJourney) serve PostgreSQL;
    # SQLite ignores the extra columns and the index still works, so its warning on every
    # `migrate` is noise.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

#
# Celery: in-process without REDIS_URL, a real broker with it
#

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# JOB-04. No task runs longer than this (the worker kills it): the slowest measured is
# the nightly fill of the report periods, minutes at 50,000 customers (README).
CELERY_TASK_TIME_LIMIT = 2 * 60 * 60
# Longer than twice the longest run a task may have, so Redis never redelivers a running
# task (acks_late); Celery reads it in three places (its Redis broker caveats).
VISIBILITY_TIMEOUT = 6 * 60 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT}
CELERY_VISIBILITY_TIMEOUT = VISIBILITY_TIMEOUT
CELERY_RESULT_EXPIRES = 7 * 24 * 60 * 60
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work is data: beat (exactly one process) copies this into its schedule.
CELERY_BEAT_SCHEDULE = {
    "segmentation-recompute-nightly": {
        "task": "segmentation.tasks.recompute_segments_task",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 23 * 60 * 60},
    },
    "complaints-schedule-surveys-nightly": {
        "task": "complaints.tasks.schedule_surveys_task",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 23 * 60 * 60},
    },
    # The survey e-mails' retries (backoff from 10 minutes): picked up within a quarter hour.
    "complaints-survey-emails": {
        "task": "complaints.tasks.send_survey_emails_task",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 14 * 60},
    },
    # After the nightly classification: the report periods' rows for the day (reporting).
    "reporting-fill-nightly": {
        "task": "reporting.tasks.fill_kpi_presets_task",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 23 * 60 * 60},
    },
    # The directors' weekly KPI summary, Monday morning.
    "reporting-weekly-email": {
        "task": "reporting.tasks.weekly_kpi_email_task",
        "schedule": crontab(hour=7, minute=0, day_of_week=1),
        "options": {"expires": 12 * 60 * 60},
    },
    # After the recompute: tiers read the classes it has just written.
    "loyalty-nightly": {
        "task": "loyalty.tasks.loyalty_nightly_task",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 20 * 60 * 60},
    },
    # The measures page's dates stored per manager (loyalty.measure_store); after the
    # recompute, whose classes the page's regular customers are read from.
    "loyalty-measures-nightly": {
        "task": "loyalty.tasks.fill_measures_task",
        "schedule": crontab(hour=3, minute=10),
        "options": {"expires": 20 * 60 * 60},
    },
    "loyalty-campaigns": {
        "task": "loyalty.tasks.campaign_send_due_task",
        "schedule": crontab(minute=15),
        "options": {"expires": 50 * 60},
    },
}
# The site as people reach it, for links in e-mails (survey links, campaign tracking and
# unsubscribe, the Monday KPI e-mail): jobs and commands have no request to read it from.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

#
# Authentication, sessions, lockout
#

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with permissions and group names read in one query per request
    "crm_project.auth_backend.OneQueryModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A reset link works once, for an hour (crm_project/password_reset.py).
PASSWORD_RESET_TIMEOUT = 60 * 60

# Django's database sessions, read with a statement compiled once (issue 15)
SESSION_ENGINE = "crm_project.session_store"
# Idle sessions end after SESSION_IDLE_MINUTES; a request renews the clock, writing the
# session at most once a minute (crm_project.session_renewal).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=120) * 60
SESSION_RENEW_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Lock a (username, address) pair, never a whole office behind one NAT address.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

#
# Security headers; production is DEBUG off behind HTTPS
#

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # a load balancer probes /health/ over plain HTTP, from inside
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

#
# Static files: everything served from this machine, never a CDN
#

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = BASE_DIR / "media"
MEDIA_URL = "media/"

#
# Pages
#

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "generic/table.html"  # bootstrap5-responsive, body by crm_project.tables
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-sm table-hover align-middle"}
LIST_PAGE_SIZE = 25
# lists count their rows up to this many, deeper pages to the next multiple of it past
# the page ("more than N found"; crm_project.pagination)
LIST_COUNT_CAP = env.int("LIST_COUNT_CAP", default=1_000)
# Exports stream the filtered list; beyond this many rows people want a report job.
EXPORT_MAX_ROWS = env.int("EXPORT_MAX_ROWS", default=100_000)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "utc": {
            "()": "crm_project.security_log.UTCFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "security": {"class": "logging.StreamHandler", "formatter": "utc"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "crm.security": {"handlers": ["security"], "level": "INFO", "propagate": False},
    },
}
