"""On SQLite only writers take the write lock: a reader such as /healthz never waits
behind a writer (WAL lets it read the last committed state), while a transaction that
may write still begins with BEGIN IMMEDIATE and waits its turn."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.database import begin_reading
from portal.extensions import db
from portal.worker import WorkerHeartbeat, beat


def database_file(app: Flask) -> Path:
    with app.app_context():
        path = db.engine.url.database
    assert path
    return Path(path)


@contextmanager
def write_lock_held(app: Flask) -> Iterator[sqlite3.Connection]:
    """Another process's writer, as a second raw sqlite3 connection: BEGIN IMMEDIATE,
    held until the block ends, then rolled back."""
    holder = sqlite3.connect(database_file(app), isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield holder
        holder.rollback()
    finally:
        holder.close()


def test_healthz_answers_at_once_while_another_connection_writes(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        beat("test-worker")
    client = migrated_app.test_client()
    assert client.get("/healthz").status_code == 200  # connections made, pages warm
    with write_lock_held(migrated_app):
        started = time.monotonic()
        response = client.get("/healthz")
        took = time.monotonic() - started
    assert response.get_json()["database"] is True, response.get_json()
    assert response.status_code == 200
    assert took < 0.1, f"/healthz took {took:.3f} s behind a writer"


def test_a_reader_sees_the_last_committed_state_while_a_writer_holds_the_lock(migrated_app: Flask) -> None:
    with migrated_app.app_context():
        beat("committed")
    with write_lock_held(migrated_app) as holder:
        holder.execute("INSERT INTO worker_heartbeats (worker, beat_at) VALUES ('uncommitted', '2030-01-01')")
        with migrated_app.app_context():
            begin_reading(db.session)
            workers = db.session.scalars(select(WorkerHeartbeat.worker)).all()
            db.session.rollback()
    assert workers == ["committed"]


def test_a_read_only_transaction_refuses_to_write(migrated_app: Flask) -> None:
    """A transaction begun for reading holds no lock it could wait on: were it to write,
    it would fail later with "database is locked" under load, so it fails now, always."""
    with migrated_app.app_context():
        begin_reading(db.session)
        db.session.add(WorkerHeartbeat(worker="sneaky"))
        with pytest.raises(OperationalError, match="readonly"):
            db.session.flush()
        db.session.rollback()
        beat("after")  # the same pooled connection writes again once the reading is over
        assert db.session.scalar(select(func.count()).select_from(WorkerHeartbeat)) == 1


def test_a_writer_still_waits_its_turn_behind_another_writer(migrated_app: Flask) -> None:
    """The reason for BEGIN IMMEDIATE: a read-then-write transaction waits for the lock
    (busy_timeout) instead of failing with "database is locked" halfway through."""
    with migrated_app.app_context():
        beat("worker")
    with write_lock_held(migrated_app) as holder:
        released_at: list[float] = []

        def write_then_release() -> None:
            time.sleep(0.2)  # the writer below is waiting by then, on a machine not too busy
            holder.execute("UPDATE worker_heartbeats SET worker = 'renamed'")
            released_at.append(time.monotonic())
            holder.commit()

        releaser = threading.Thread(target=write_then_release)
        releaser.start()
        try:
            with migrated_app.app_context():
                heartbeat = db.session.scalars(select(WorkerHeartbeat)).one()  # BEGIN IMMEDIATE waits here
                read_at = time.monotonic()
                heartbeat.worker = f"{heartbeat.worker}, then written after the wait"
                db.session.commit()
        finally:
            releaser.join()
    # By the order of events, not a duration: a loaded machine may start this thread's read
    # only after the release (then it did not wait, and the order still holds).
    assert read_at >= released_at[0], "the read went ahead of the other writer's commit"
    with migrated_app.app_context():
        assert db.session.scalars(select(WorkerHeartbeat.worker)).all() == [
            "renamed, then written after the wait"
        ]


def test_the_public_numbers_page_counts_without_waiting_behind_a_writer(migrated_app: Flask) -> None:
    """A year of figures is counted once a minute; meanwhile the text line must be able
    to write, and the page must not wait for it either."""
    client = migrated_app.test_client()
    assert client.get("/numbers").status_code == 200  # connections made, templates warm
    migrated_app.extensions["public_numbers"].lifetime = 0.0  # count again on every visit
    with write_lock_held(migrated_app):
        started = time.monotonic()
        response = client.get("/numbers")
        took = time.monotonic() - started
    assert response.status_code == 200
    assert "cannot be shown right now" not in response.get_data(as_text=True)
    assert took < 1.0, f"/numbers took {took:.3f} s behind a writer"
