"""`flask --app portal worker`: delivers the outbox and runs the scheduled jobs.

Several workers may run at once: rows are claimed with a lease (and on PostgreSQL
FOR UPDATE SKIP LOCKED), and each scheduled job is safe to run twice.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utcnow
from portal.dispatch.alerts import escalate_unacknowledged, escalate_unreached
from portal.dispatch.retention import delete_old_texter_data
from portal.extensions import db
from portal.messaging.gateway import make_gateway
from portal.messaging.outbox import deliver_due, reconcile_statuses
from portal.plans import lifecycle as plan_lifecycle
from portal.sms.conversation import answer_waiting_texters, forward_silent_texters
from portal.sms.retention import forget_old_texts

log = logging.getLogger(__name__)

IDLE_PAUSE = 0.5  # seconds between passes when there was nothing to send
BEAT_EVERY = 5.0  # seconds between heartbeats

# Scheduled jobs: functions of no arguments, safe to run twice or from two workers at
# once, with how often they run (seconds). The text line's timers need seconds.
SCHEDULED_JOBS: tuple[tuple[Callable[[], None], float], ...] = (
    (forward_silent_texters, 1.0),
    (answer_waiting_texters, 5.0),
    (escalate_unreached, 1.0),
    (escalate_unacknowledged, 5.0),
    (plan_lifecycle.run, 300.0),
    (delete_old_texter_data, 3600.0),
    (forget_old_texts, 3600.0),
)


class WorkerHeartbeat(db.Model):  # type: ignore[name-defined,misc]
    """The last sign of life of each worker, for /healthz."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(80), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def beat(name: str) -> None:
    heartbeat = db.session.get(WorkerHeartbeat, name) or WorkerHeartbeat(worker=name)
    heartbeat.beat_at = utcnow()
    db.session.add(heartbeat)
    db.session.commit()


def latest_heartbeat() -> datetime | None:
    return db.session.scalar(
        select(WorkerHeartbeat.beat_at).order_by(WorkerHeartbeat.beat_at.desc()).limit(1)
    )


def run(stop: threading.Event) -> None:
    """Deliver and run the scheduled jobs until `stop` is set."""
    name = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    gateway = make_gateway(current_app.config["PORTAL_SETTINGS"])
    look_up_statuses: Callable[[], object] = functools.partial(reconcile_statuses, gateway)
    jobs: tuple[tuple[Callable[[], object], float], ...] = (*SCHEDULED_JOBS, (look_up_statuses, 60.0))
    last_run = {job: 0.0 for job, _every in jobs}
    last_beat = 0.0
    log.info("worker %s started", name)
    while not stop.is_set():
        if time.monotonic() - last_beat >= BEAT_EVERY:
            beat(name)
            last_beat = time.monotonic()
        for job, every in jobs:
            if time.monotonic() - last_run[job] >= every:
                try:
                    job()
                except Exception:
                    # One failing job (a database hiccup) must not stop the deliveries.
                    log.exception("worker: a scheduled job failed; it runs again later")
                    db.session.rollback()
                last_run[job] = time.monotonic()
        if not deliver_due(gateway):
            stop.wait(IDLE_PAUSE)
    log.info("worker %s stopped", name)


def init_app(app: Flask) -> None:
    @app.cli.command("worker")
    def worker_command() -> None:
        """Deliver queued text messages and run the scheduled jobs, until stopped."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
        run(stop)
