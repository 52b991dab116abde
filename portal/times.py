"""Times as people read them: in the agency's time zone (agency.toml), with the date.

Stored times are UTC (portal.database.UTCDateTime). Everything a person reads (the
console, the audit trail, reports, the family's access log, the printed plan, a text
message that names a date) goes through local_datetime() or local_date(): in templates
the `localtime` and `localdate` filters. A time 03:30 UTC on the 23rd of November is
"Nov 22, 2026, 9:30 PM" in St. Louis, never "Nov 23".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app
from flask_babel import format_date, format_datetime, format_time, get_locale

from portal.database import utcnow


def agency_zone() -> ZoneInfo:
    return ZoneInfo(current_app.extensions["agency"].timezone)


def to_local(moment: datetime) -> datetime:
    """A stored moment (UTC; a naive one is taken as UTC) as the agency's wall clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(agency_zone())


def local_today() -> date:
    return to_local(utcnow()).date()


def local_datetime(moment: datetime | None, format: str | None = None) -> str:
    """Date and time in the agency's zone and the reader's language.

    By default the date in words and the time without seconds ("Nov 22, 2026, 9:30 PM",
    "22 nov 2026, 21:30"); "short", "medium", "long", "full" or a Babel pattern otherwise.
    """
    if moment is None:
        return ""
    local = to_local(moment)
    if format is not None:
        return str(format_datetime(local, format, rebase=False))
    locale = get_locale() or Locale.parse("en")
    # How this language joins a date and a time ("{1}, {0}" in English), as Babel does.
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{0}", str(format_time(local, "short", rebase=False))).replace(
        "{1}", str(format_date(local, "medium", rebase=False))
    )


def local_date(moment: datetime | date | None, format: str = "medium") -> str:
    """The date in the agency's zone: a moment is placed on the agency's calendar first;
    a calendar date (a birth date) is shown as it is."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = to_local(moment).date()
    return str(format_date(moment, format, rebase=False))


def local_iso(moment: datetime) -> str:
    """For files (CSV): local time with its offset, "2026-11-22T21:30:00-06:00"."""
    return to_local(moment).isoformat(timespec="seconds")


def local_day_start(day: date) -> datetime:
    """Midnight at the start of a local calendar day, in UTC (for queries)."""
    return datetime.combine(day, time(0), tzinfo=agency_zone()).astimezone(UTC)


def local_days(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds [start, end) of local days first to last, both included."""
    start = local_day_start(first) if first else None
    end = local_day_start(last + timedelta(days=1)) if last else None
    return start, end
