"""Counts and trends for supervisors and program managers, without personal data.

Times to acknowledge (median, 90th percentile) are computed over acknowledged requests
only, and the page says so beside the count of requests nobody acknowledged and the
longest wait: a week in which 25 of 26 requests were never acknowledged must not read
as a good week. Weeks and date ranges are the agency's local calendar.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField
from wtforms.validators import Optional, ValidationError

from portal.console import bp, requires
from portal.console.forms import DISPOSITIONS, plausible_date
from portal.database import utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.i18n import BY_CODE
from portal.settings import Settings
from portal.times import agency_zone, local_days, local_today, to_local

WEEKS = 12  # the range shown when none is chosen


class ReportForm(FlaskForm):  # type: ignore[misc]
    class Meta:
        csrf = False  # a search (GET) changes nothing

    start = DateField(_l("From (date)"), validators=[Optional(), plausible_date])
    end = DateField(_l("To (date)"), validators=[Optional(), plausible_date])

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_("The end date is before the start date."))


@dataclass(frozen=True)
class Wait:
    """How long one request waited for a dispatcher."""

    reference: str
    received: datetime
    minutes: float
    state: str  # acknowledged, waiting (open, nobody acknowledged it yet), closed (never acknowledged)


@dataclass
class Tally:
    """The numbers for a period: the whole range, or one week."""

    requests: int = 0
    acknowledged: list[float] = field(default_factory=list)  # minutes to acknowledge
    still_waiting: int = 0
    closed_unacknowledged: int = 0
    supervisors_alerted: int = 0
    not_delivered: int = 0
    longest: Wait | None = None

    @property
    def unacknowledged(self) -> int:
        return self.still_waiting + self.closed_unacknowledged

    @property
    def median(self) -> float | None:
        return statistics.median(self.acknowledged) if self.acknowledged else None

    @property
    def p90(self) -> float | None:
        return percentile(self.acknowledged, 0.9)

    def add(self, row: Any, now: datetime) -> None:  # a row of the columns selected below
        self.requests += 1
        if row.acknowledged_at is not None:
            wait = Wait(
                row.reference,
                row.created_at,
                minutes_between(row.created_at, row.acknowledged_at),
                "acknowledged",
            )
            self.acknowledged.append(wait.minutes)
        elif row.status == "closed":
            self.closed_unacknowledged += 1
            wait = Wait(
                row.reference, row.created_at, minutes_between(row.created_at, row.closed_at or now), "closed"
            )
        else:
            self.still_waiting += 1
            wait = Wait(row.reference, row.created_at, minutes_between(row.created_at, now), "waiting")
        if row.supervisors_alerted_at is not None:
            self.supervisors_alerted += 1
        if row.escalated_at is not None:
            self.not_delivered += 1
        if self.longest is None or wait.minutes > self.longest.minutes:
            self.longest = wait


def minutes_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 60, 0.0)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank: the smallest value that `share` of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def duration_in_words(minutes: float) -> str:
    if minutes < 60:
        return str(_("%(minutes)s min", minutes=format_decimal(round(minutes, 1), "0.0")))
    whole = int(minutes)
    if whole < 48 * 60:
        return str(_("%(hours)d h %(minutes)d min", hours=whole // 60, minutes=whole % 60))
    return str(_("%(days)d days %(hours)d h", days=whole // (24 * 60), hours=whole % (24 * 60) // 60))


def chosen_days(form: ReportForm) -> tuple[date, date]:
    """The local days asked for, both included; the last 12 weeks when none are."""
    last = (form.end.data if form.end.data and not form.errors else None) or local_today()
    first = form.start.data if form.start.data and not form.errors else None
    return first or last - timedelta(weeks=WEEKS) + timedelta(days=1), last


@bp.get("/reports")
@requires("supervisor")
def reports() -> ResponseReturnValue:
    form = ReportForm(formdata=request.args)
    form.validate()
    first, last = chosen_days(form)
    # The boxes show the dates counted, chosen or not.
    if not form.start.raw_data or not form.start.raw_data[0]:
        form.start.data, form.start.raw_data = first, None
    if not form.end.raw_data or not form.end.raw_data[0]:
        form.end.data, form.end.raw_data = last, None
    start, end = local_days(first, last)
    # Only the columns counted: the encrypted location and callback number stay unread.
    rows = db.session.execute(
        select(
            CitRequest.reference,
            CitRequest.created_at,
            CitRequest.acknowledged_at,
            CitRequest.closed_at,
            CitRequest.status,
            CitRequest.supervisors_alerted_at,
            CitRequest.escalated_at,
            CitRequest.language,
            CitRequest.disposition,
            CitRequest.source,
        ).where(CitRequest.created_at >= start, CitRequest.created_at < end)
    ).all()
    now = utcnow()
    overall = Tally()
    weeks: dict[date, Tally] = {}
    for row in rows:
        overall.add(row, now)
        day = to_local(row.created_at).date()
        weeks.setdefault(day - timedelta(days=day.weekday()), Tally()).add(row, now)
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    kept_since = local_today() - timedelta(days=settings.request_retention_days)
    return render_template(
        "console/reports.html",
        form=form,
        first=first,
        last=last,
        zone=agency_zone().key,
        overall=overall,
        by_week=sorted(weeks.items(), reverse=True),
        duration_in_words=duration_in_words,
        retention_days=settings.request_retention_days if first < kept_since else None,
        languages=Counter(BY_CODE[row.language].english_name for row in rows).most_common(),
        dispositions=Counter(
            dict(DISPOSITIONS).get(row.disposition, row.disposition) for row in rows if row.disposition
        ).most_common(),
        sources=Counter(row.source for row in rows),
    )
