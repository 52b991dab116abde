"""The worker outlives what a database does to it, and a dead worker's alerts are not late.

The worker delivers every dispatch alert: a locked database, a dropped connection or a
crash mid-batch must never stop alerting (a lock longer than SQLite's busy timeout, a
PostgreSQL failover, a SIGKILL).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from portal.extensions import db
from portal.messaging.outbox import claim_batch
from portal.settings import Settings
from portal.worker import run
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import DISPATCH, make_text_line_app, reply_text, send_text, wait_until


class Worker:
    """One worker in a thread, as `flask worker` runs it, that a test can watch."""

    def __init__(self, app: Flask) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._work, args=(app,), daemon=True)

    def _work(self, app: Flask) -> None:
        with app.app_context():
            run(self.stop)

    def __enter__(self) -> Worker:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)


def alerted(fake: FakeTwilio, text_number: int) -> bool:
    return sum(1 for m in fake.messages if m.to in DISPATCH and f"{text_number} Main St" in m.body) >= len(
        DISPATCH
    )


def test_the_worker_outlives_a_database_locked_longer_than_its_busy_timeout(
    line: Flask, fake_twilio: FakeTwilio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Worker(line) as worker, caplog.at_level(logging.ERROR):
        send_text(line.test_client(), "PIN 100 Main St")
        wait_until(lambda: alerted(fake_twilio, 100))
        # Another process holds the database for 8 seconds (a backup, a key rotation).
        locker = sqlite3.connect(tmp_path / "portal.db", timeout=1)
        locker.execute("BEGIN EXCLUSIVE")
        wait_until(lambda: any("failed" in r.getMessage() for r in caplog.records), seconds=20)
        time.sleep(8 - 5)  # the rest of the 8 seconds: the worker hit the lock after its 5-second timeout
        locker.rollback()
        locker.close()
        send_text(line.test_client(), "PIN 200 Main St")
        wait_until(lambda: alerted(fake_twilio, 200), seconds=20)
        assert worker.thread.is_alive()
        health = line.test_client().get("/healthz").get_json()
        assert health["worker_last_error_age_seconds"] is not None  # the failure is reported


@pytest.fixture
def line_on_postgresql(postgres_url: str, tmp_path: Path, fake_twilio: FakeTwilio) -> Iterator[Flask]:
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_DATABASE_URL=postgres_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_the_worker_outlives_a_postgresql_failover(
    line_on_postgresql: Flask, fake_twilio: FakeTwilio, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = line_on_postgresql
    database = postgres_url.rsplit("/", 1)[1]
    with Worker(app) as worker, caplog.at_level(logging.WARNING):
        send_text(app.test_client(), "PIN 300 Main St")
        wait_until(lambda: alerted(fake_twilio, 300))
        # What a failover or a restart does: every connection of the portal is cut.
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            ).fetchall()
        assert cut, "no connection of the portal was cut"
        send_text(app.test_client(), "PIN 400 Main St")
        wait_until(lambda: alerted(fake_twilio, 400), seconds=20)
        assert worker.thread.is_alive()


def test_the_lease_is_well_under_the_dispatch_timeout() -> None:
    """A dead worker's alerts are claimed again long before dispatch counts as unreached."""
    defaults = Settings.__dataclass_fields__
    assert float(defaults["outbox_lease"].default) * 2 < float(defaults["dispatch_timeout"].default)


def test_a_dead_workers_alerts_are_sent_by_another_once_its_lease_ends(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_OUTBOX_LEASE="3")
    send_text(app.test_client(), "PIN 500 Main St")
    with app.app_context():
        held = claim_batch()  # a worker claims the alerts, then is killed before sending
    assert len(held) == len(DISPATCH)
    started = time.monotonic()
    with Worker(app):
        wait_until(lambda: alerted(fake_twilio, 500), seconds=20)
    assert time.monotonic() - started >= 2  # not before the dead worker's lease ran out


def test_hostile_long_texts_stop_neither_the_webhook_nor_the_worker(
    line: Flask, fake_twilio: FakeTwilio
) -> None:
    """Texts built to be slow to read are read before the database is touched, in linear
    time (make bench measures it), so the worker's claims never wait on them."""
    client = line.test_client()
    with Worker(line) as worker:
        for number, hostile in enumerate(("a" * 1600, "求" * 1600, "a & " * 400, "1234 a " * 228)):
            response = send_text(client, hostile, sender=f"+131455503{number:02d}")
            assert response.status_code == 200 and "911" in reply_text(response)
        send_text(client, "PIN 600 Main St")
        wait_until(lambda: alerted(fake_twilio, 600))
        assert worker.thread.is_alive()
