"""The business calendar: what "today" is for the company, and month arithmetic.

Every page, job and command asks `business_today()`, never `date.today()` (the server's
zone) nor its own `timezone.localdate()`, so that a day means the same everywhere.
"""

import calendar
from datetime import date


def business_today() -> date:
    """Today in the business time zone (settings.TIME_ZONE)."""
    from django.utils import timezone  # kept local: months_before stays importable without Django

    return timezone.localdate()


def months_before(d: date, months: int) -> date:
    """Return `d` minus `months` calendar months, clipping the day to the end of the
    target month (31 May - 3 months = 28 Feb), like PostgreSQL's `date - interval`."""
    year, month0 = divmod(d.year * 12 + d.month - 1 - months, 12)
    day = min(d.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)
