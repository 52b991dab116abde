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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal import logs
from portal.database import UTCDateTime, utcnow
from portal.extensions import db
from portal.jobs import JOBS
from portal.messaging.gateway import make_gateway
from portal.messaging.outbox import SEND_AT_ONCE, deliver_due, reconcile_statuses
from portal.messaging.wakeup import make_waiter

log = logging.getLogger(__name__)

# Seconds between passes when there was nothing to send, unless woken sooner by a
# message being queued (portal/messaging/wakeup.py): the fallback for a lost wake-up,
# and what finds retries coming due.
IDLE_PAUSE = 0.5
BEAT_EVERY = 3.0  # seconds between heartbeats (/healthz calls 15 seconds of silence a failure)
ERROR_PAUSE_MAX = 5.0  # seconds, at most, between tries while the database fails

# Scheduled jobs (portal.jobs, the one list): functions of no arguments, safe to run
# twice or from two workers at once, with how often they run (seconds).
SCHEDULED_JOBS: tuple[tuple[Callable[[], object], float], ...] = tuple(
    (job.run, job.every) for job in JOBS if job.every is not None
)


class WorkerHeartbeat(db.Model):  # type: ignore[name-defined,misc]
    """The last sign of life of each worker, for /healthz."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(80), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last time a pass or a job failed (the database locked or gone, a bug).
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How many passes and jobs failed since this worker started (/healthz adds them up).
    errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


def beat(name: str) -> None:
    heartbeat = db.session.get(WorkerHeartbeat, name) or WorkerHeartbeat(worker=name)
    heartbeat.beat_at = utcnow()
    db.session.add(heartbeat)
    db.session.commit()


def note_error(name: str) -> None:
    """Tell /healthz this worker just failed; the database itself may be what failed."""
    try:
        heartbeat = db.session.get(WorkerHeartbeat, name) or WorkerHeartbeat(worker=name)
        heartbeat.last_error_at = utcnow()
        heartbeat.errors = (heartbeat.errors or 0) + 1
        db.session.add(heartbeat)
        db.session.commit()
    except Exception:
        reset_session()


def latest_heartbeat() -> datetime | None:
    return db.session.scalar(
        select(WorkerHeartbeat.beat_at).order_by(WorkerHeartbeat.beat_at.desc()).limit(1)
    )


def run(stop: threading.Event) -> None:
    """Deliver and run the scheduled jobs until `stop` is set.

    No recoverable error ends the loop: a locked or lost database, a failing job, a
    bug in one pass are logged, the session is reset, and the work goes on after a
    short pause that grows while the errors last.
    """
    name = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    gateway = make_gateway(current_app.config["PORTAL_SETTINGS"])
    look_up_statuses: Callable[[], object] = functools.partial(reconcile_statuses, gateway)
    jobs: tuple[tuple[Callable[[], object], float], ...] = (*SCHEDULED_JOBS, (look_up_statuses, 60.0))
    # Every job runs at start: time.monotonic() counts from boot, so 0.0 would hold a
    # daily job back until the machine had been up a day.
    last_run = {job: float("-inf") for job, _every in jobs}
    last_beat = 0.0
    failures = 0
    pool = ThreadPoolExecutor(SEND_AT_ONCE, thread_name_prefix="outbox-send")
    waiter = make_waiter(stop)
    log.info("worker %s started", name)
    try:
        while not stop.is_set():
            try:
                if time.monotonic() - last_beat >= BEAT_EVERY:
                    beat(name)
                    last_beat = time.monotonic()
                for job, every in jobs:
                    if time.monotonic() - last_run[job] >= every:
                        last_run[job] = time.monotonic()
                        run_job(job, name)
                sent = deliver_due(gateway, pool)
                failures = 0
            except Exception:
                failures += 1
                log.exception("worker: a pass failed (%d in a row); trying again", failures)
                reset_session()
                note_error(name)
                stop.wait(min(ERROR_PAUSE_MAX, IDLE_PAUSE * 2**failures))
                continue
            if not sent:
                waiter.wait(IDLE_PAUSE)
    finally:
        waiter.close()
        pool.shutdown()
    log.info("worker %s stopped", name)


def run_job(job: Callable[[], object], name: str) -> None:
    """One scheduled job; its failure (a database hiccup) must not stop the others."""
    try:
        job()
    except Exception:
        log.exception("worker: a scheduled job failed; it runs again later")
        reset_session()
        note_error(name)


def reset_session() -> None:
    """Forget a failed transaction and its connection; the next use gets a fresh one."""
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone
        log.warning("worker: could not roll back; dropping the session")
    db.session.remove()


def init_app(app: Flask) -> None:
    @app.cli.command("worker")
    def worker_command() -> None:
        """Deliver queued text messages and run the scheduled jobs, until stopped."""
        logs.configure()  # JSON lines on stderr; create_app did it already (it is idempotent)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
        signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
        run(stop)
