"""GET /healthz: is this instance able to take requests, and is the outbox moving?"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from portal.database import begin_reading, utcnow
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.worker import latest_error, latest_heartbeat

bp = Blueprint("health", __name__)

# A worker beats every few seconds; 15 seconds of silence means none is working.
HEARTBEAT_STALE = timedelta(seconds=15)
# Messages waiting longer than this mean delivery is stuck, whatever the worker says.
BACKLOG_STALE = timedelta(minutes=2)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    try:
        # Only reads, so on SQLite it takes no write lock and answers at once while a
        # writer (the webhook, a worker) holds it, instead of waiting busy_timeout and
        # reporting the database down.
        begin_reading(db.session)
        beat, error = latest_heartbeat(), latest_error()
        waiting = select(func.count(), func.min(OutboundMessage.created_at)).where(
            OutboundMessage.status == "queued"
        )
        backlog, oldest = db.session.execute(waiting).one()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"database": False}), 503
    db.session.rollback()
    now = utcnow()
    heartbeat_age = (now - beat).total_seconds() if beat else None
    healthy = (
        heartbeat_age is not None
        and heartbeat_age < HEARTBEAT_STALE.total_seconds()
        and (oldest is None or now - oldest < BACKLOG_STALE)
    )
    body = {
        "database": True,
        # Rate limits fall back to counting in each process: degraded, still serving.
        "redis": current_app.extensions["rate_limiter"].redis_state(),
        "worker_heartbeat_age_seconds": heartbeat_age,
        "outbox_backlog": backlog,
        # A worker that fails and goes on: worth a look, not yet out of service.
        "worker_last_error_age_seconds": (now - error).total_seconds() if error else None,
        "oldest_queued_age_seconds": (now - oldest).total_seconds() if oldest else None,
    }
    return jsonify(body), 200 if healthy else 503
