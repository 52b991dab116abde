"""`flask --app portal worker`: delivers the outbox and runs the scheduled jobs.

Several workers may run at once: rows are claimed with a lease (and on PostgreSQL
FOR UPDATE SKIP LOCKED), and each scheduled job is safe to run twice.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import datetime

import click
from flask import Flask, current_app
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import UTCDateTime, utcnow
from portal.dispatch.outbox import deliver_due
from portal.extensions import db
from portal.plans import lifecycle as plan_lifecycle
from portal.sms.gateway import make_gateway

log = logging.getLogger(__name__)

IDLE_PAUSE = 0.5  # seconds between passes when there was nothing to send
JOBS_EVERY = 30.0  # seconds between runs of the scheduled jobs

# Each a function of no arguments, safe to run twice or from two workers at once.
SCHEDULED_JOBS: tuple[Callable[[], None], ...] = (plan_lifecycle.run,)


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


def run(stop_after: float | None = None) -> None:
    name = f"{socket.gethostname()}:{os.getpid()}"
    gateway = make_gateway(current_app.config["PORTAL_SETTINGS"])
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = last_jobs = time.monotonic() - JOBS_EVERY
    log.info("worker %s started", name)
    while not stopping and (stop_after is None or time.monotonic() - started < stop_after):
        beat(name)
        sent = deliver_due(gateway)
        if time.monotonic() - last_jobs >= JOBS_EVERY:
            for job in SCHEDULED_JOBS:
                job()
            last_jobs = time.monotonic()
        if not sent:
            time.sleep(IDLE_PAUSE)
    log.info("worker %s stopped", name)


def init_app(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--seconds", type=float, default=None, help="Stop after this long (for tests).")
    def worker_command(seconds: float | None) -> None:
        """Deliver queued text messages and run the scheduled jobs, until stopped."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run(stop_after=seconds)
