"""Counts and trends for supervisors and program managers, without personal data."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, timedelta

from flask import render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from portal.console import bp, requires
from portal.console.forms import DISPOSITIONS
from portal.database import utcnow
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.i18n import BY_CODE

WEEKS = 12


@bp.get("/reports")
@requires("supervisor")
def reports() -> ResponseReturnValue:
    since = utcnow() - timedelta(weeks=WEEKS)
    rows = db.session.execute(
        select(
            CitRequest.created_at,
            CitRequest.acknowledged_at,
            CitRequest.language,
            CitRequest.disposition,
            CitRequest.source,
        ).where(CitRequest.created_at >= since)
    ).all()
    weeks: dict[date, list[float]] = {}
    counts: Counter[date] = Counter()
    for created, acknowledged, *_rest in rows:
        monday = created.date() - timedelta(days=created.weekday())
        counts[monday] += 1
        if acknowledged:
            weeks.setdefault(monday, []).append((acknowledged - created).total_seconds() / 60)
    by_week = [
        (monday, counts[monday], statistics.median(weeks[monday]) if weeks.get(monday) else None)
        for monday in sorted(counts, reverse=True)
    ]
    return render_template(
        "console/reports.html",
        weeks=WEEKS,
        total=len(rows),
        by_week=by_week,
        languages=Counter(BY_CODE[row.language].english_name for row in rows).most_common(),
        dispositions=Counter(
            dict(DISPOSITIONS).get(row.disposition, row.disposition) for row in rows if row.disposition
        ).most_common(),
        sources=Counter(row.source for row in rows),
    )
