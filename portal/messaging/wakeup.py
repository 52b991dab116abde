"""Waking an idle worker as soon as a message is queued, instead of at its next poll.

A wake-up is only a hint: the outbox rows are the truth, and the worker still polls
(portal.worker.IDLE_PAUSE), so a lost wake-up (a listener reconnecting, Redis down)
makes a message late by one poll, never lost.

- PostgreSQL: NOTIFY in the transaction that queues the message, so it is sent on
  commit and never for a rolled-back one; the worker LISTENs on a connection of its own.
- SQLite with PORTAL_REDIS_URL: published to Redis after the commit; the worker subscribes.
- SQLite alone: the worker reads PRAGMA data_version every 50 ms, which changes when
  another connection commits (microseconds, and no lock taken).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from typing import Any

import psycopg
import redis
from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db
from portal.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "portal_outbox"
RETRY_REDIS_AFTER = 5.0  # seconds without publishing after Redis failed: the webhook must not wait on it
_PUBLISH = "portal_outbox_publish"  # session.info key: publish once this transaction commits


def announce() -> None:
    """A message is being queued in the current transaction: wake a worker once it commits."""
    if db.engine.dialect.name == "postgresql":
        # PostgreSQL sends it at commit, once per transaction however many are queued.
        db.session.execute(text(f"NOTIFY {CHANNEL}"))
    elif current_app.config["PORTAL_SETTINGS"].redis_url:
        db.session.info[_PUBLISH] = True


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    if session.info.pop(_PUBLISH, False):
        publisher = current_app.extensions.get("outbox_publisher")
        if publisher is None:
            settings: Settings = current_app.config["PORTAL_SETTINGS"]
            publisher = current_app.extensions.setdefault(
                "outbox_publisher", RedisPublisher(settings.redis_url, redis_channel())
            )
        publisher.publish()


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction ended without a commit (after_commit came first)
        session.info.pop(_PUBLISH, None)


def redis_channel() -> str:
    """Redis is used with SQLite only: the channel is the database file's, so that two
    databases sharing a Redis server (two sites, tests) do not wake each other's workers."""
    path = os.path.realpath(db.engine.url.database or "")
    return f"{CHANNEL}:{hashlib.sha256(path.encode()).hexdigest()[:16]}"


class RedisPublisher:
    def __init__(self, url: str | None, channel: str) -> None:
        self._redis = redis.Redis.from_url(url or "", socket_timeout=0.5, socket_connect_timeout=0.5)
        self._channel = channel
        self._failed_at: float | None = None

    def publish(self) -> None:
        if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_REDIS_AFTER:
            return
        try:
            self._redis.publish(self._channel, b"")
        except redis.RedisError as error:
            if self._failed_at is None:
                log.warning(
                    "outbox: Redis unreachable (%s); workers find messages by polling", type(error).__name__
                )
            self._failed_at = time.monotonic()
        else:
            self._failed_at = None


class Waiter:
    """Waits in slices, so that a stopping worker is never held longer than one."""

    slice_seconds = 0.5

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def wait(self, seconds: float) -> bool:
        """Wait at most `seconds` for a wake-up; True if one came (or may have been missed)."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if self._wait_once(min(left, self.slice_seconds)):
                return True
        return False

    def _wait_once(self, seconds: float) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass


def make_waiter(stop: threading.Event) -> Waiter:
    """The worker's side, for this app's database (call in an app context)."""
    settings: Settings = current_app.config["PORTAL_SETTINGS"]
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresWaiter(url.set(drivername="postgresql").render_as_string(hide_password=False), stop)
    if settings.redis_url:
        return RedisWaiter(settings.redis_url, redis_channel(), stop)
    return SqliteWaiter(url.database, stop)


class PostgresWaiter(Waiter):
    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(stop)
        self._url = url
        self._connection: psycopg.Connection[Any] | None = None

    def _wait_once(self, seconds: float) -> bool:
        try:
            if self._connection is None:
                self._connection = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                self._connection.execute(f"LISTEN {CHANNEL}")
                return True  # what was queued while nobody listened is claimed now
            if not any(True for _ in self._connection.notifies(timeout=seconds, stop_after=1)):
                return False
            # The others that came meanwhile: one claim finds all their messages.
            for _ in self._connection.notifies(timeout=0):
                pass
            return True
        except psycopg.Error as error:
            log.warning("outbox: not listening for new messages (%s); polling", type(error).__name__)
            self.close()
            self._stop.wait(seconds)
            return False

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None


class RedisWaiter(Waiter):
    def __init__(self, url: str, channel: str, stop: threading.Event) -> None:
        super().__init__(stop)
        self._channel = channel
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=1)
        self._pubsub: Any = None

    def _wait_once(self, seconds: float) -> bool:
        try:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                self._pubsub.subscribe(self._channel)
                return True  # what was queued while nobody listened is claimed now
            # None also for the subscription's confirmation: the caller waits on.
            if self._pubsub.get_message(timeout=seconds) is None:
                return False
            while self._pubsub.get_message(timeout=0) is not None:  # one claim finds them all
                pass
            return True
        except redis.RedisError as error:
            log.warning("outbox: not subscribed to new messages (%s); polling", type(error).__name__)
            self.close()
            self._stop.wait(seconds)
            return False

    def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                self._pubsub.close()
            self._pubsub = None


class SqliteWaiter(Waiter):
    slice_seconds = 0.05  # a look at data_version costs microseconds

    def __init__(self, path: str | None, stop: threading.Event) -> None:
        super().__init__(stop)
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None

    def _wait_once(self, seconds: float) -> bool:
        if self._stop.wait(seconds) or not self._path or self._path == ":memory:":
            return False
        try:
            if self._connection is None:
                # Autocommit: the pragma runs in no transaction, so it takes no lock.
                self._connection = sqlite3.connect(self._path, timeout=1, isolation_level=None)
            version = int(self._connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            self.close()
            return False
        # Another connection committed something: perhaps a message (one claim tells).
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
