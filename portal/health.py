"""GET /healthz: is this instance able to take requests, and is the outbox moving?

503 when the database cannot be read, when no worker has beaten for HEARTBEAT_STALE,
when a message has waited BACKLOG_STALE, or when a dispatch alert has waited longer
than the dispatch timeout (the bounce-back limit: by then the texter is being told to
call 911). "problems" says which, in English, for whoever is paged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from portal.database import begin_reading, utcnow
from portal.dispatch.models import ALERT_PURPOSES
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.settings import Settings
from portal.worker import WorkerHeartbeat

bp = Blueprint("health", __name__)

# A worker beats every few seconds; 15 seconds of silence means none is working. Stricter
# than issue 14's minute: a minute without a worker is a minute of alerts not sent.
HEARTBEAT_STALE = timedelta(seconds=15)
# Messages waiting longer than this mean delivery is stuck, whatever the worker says.
BACKLOG_STALE = timedelta(minutes=2)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    now = utcnow()
    try:
        # Only reads, so on SQLite it takes no write lock and answers at once while a
        # writer (the webhook, a worker) holds it, instead of waiting busy_timeout and
        # reporting the database down.
        begin_reading(db.session)
        beat, last_error = db.session.execute(
            select(func.max(WorkerHeartbeat.beat_at), func.max(WorkerHeartbeat.last_error_at))
        ).one()
        # The running workers' failures since each started (a stopped worker's are history).
        workers, errors = db.session.execute(
            select(func.count(), func.coalesce(func.sum(WorkerHeartbeat.errors), 0)).where(
                WorkerHeartbeat.beat_at >= now - HEARTBEAT_STALE
            )
        ).one()
        queued = OutboundMessage.status == "queued"
        backlog, oldest = db.session.execute(
            select(func.count(), func.min(OutboundMessage.created_at)).where(queued)
        ).one()
        oldest_alert = db.session.scalar(
            select(func.min(OutboundMessage.created_at)).where(
                queued, OutboundMessage.purpose.in_(ALERT_PURPOSES)
            )
        )
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"database": False, "problems": ["database unreachable"]}), 503
    db.session.rollback()

    def age(then: datetime | None) -> float | None:
        return (now - then).total_seconds() if then else None

    problems = []
    if beat is None or now - beat >= HEARTBEAT_STALE:
        problems.append("no worker running")
    if oldest is not None and now - oldest >= BACKLOG_STALE:
        problems.append("outbox stuck")
    if oldest_alert is not None and now - oldest_alert >= timedelta(seconds=settings.dispatch_timeout):
        problems.append("dispatch alert not sent within the dispatch timeout")
    body = {
        "database": True,
        # Rate limits fall back to counting in each process: degraded, still serving.
        "redis": current_app.extensions["rate_limiter"].redis_state(),
        "worker_heartbeat_age_seconds": age(beat),
        "workers_running": workers,
        # A worker that fails and goes on: worth a look, not yet out of service.
        "worker_errors": int(errors),
        "worker_last_error_age_seconds": age(last_error),
        "outbox_backlog": backlog,
        "oldest_queued_age_seconds": age(oldest),
        # Not yet accepted by Twilio: dispatch has not got it.
        "oldest_undelivered_alert_age_seconds": age(oldest_alert),
        "problems": problems,
    }
    return jsonify(body), 503 if problems else 200
