"""Database connection settings that every connection must carry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, event
from sqlalchemy.engine import CursorResult, Dialect, Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite durable and strict on every connection (DESIGN.md, Data protection).

    WAL with synchronous=FULL means a 200 answered to Twilio is on disk; secure_delete
    overwrites deleted plan rows instead of leaving them in free pages. A transaction
    begins with BEGIN IMMEDIATE (it waits for the write lock) unless begun with
    begin_reading() (it takes none).
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin, so that
        # "BEGIN IMMEDIATE" below is really the first statement of a write.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "foreign_keys=ON",
            "secure_delete=ON",
            "journal_mode=WAL",
            "synchronous=FULL",
            "busy_timeout=5000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get(READING_ONLY, False):
            # A reader takes no lock: in WAL mode it reads the last committed state
            # while a writer holds the write lock, so /healthz never waits behind one.
            # query_only makes a write in it fail at once, never "database is locked"
            # later, when a deferred transaction would try to take the lock it skipped.
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql("BEGIN")
            return
        # Every other transaction may write, so it takes the write lock up front: one
        # that reads then writes would otherwise fail with "database is locked" (WAL
        # cannot upgrade a stale read snapshot) instead of waiting its turn
        # (busy_timeout). query_only is per connection: a pooled reader's is undone here.
        connection.exec_driver_sql("PRAGMA query_only=OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# The execution option that marks a connection's transactions as reading only.
READING_ONLY = "portal_reading_only"


def begin_reading(session: Session | scoped_session[Any]) -> None:
    """Begin the session's next transaction as one that only reads (SQLite: a deferred
    BEGIN and no write lock, so it never waits behind a writer; a write in it fails).
    Call it before the session's first query; end the transaction with rollback().
    Elsewhere the default holds: every transaction begins as a writer."""
    current = session() if isinstance(session, scoped_session) else session
    if current.in_transaction():
        raise RuntimeError("begin_reading() must come before the transaction's first query")
    current.connection(execution_options={READING_ONLY: True})


def checkpoint_after_commit(session: Session | scoped_session[Any]) -> None:
    """Once this transaction commits, copy SQLite's write-ahead log into the database
    file and empty it: secure_delete overwrites deleted rows in the file, but a copy
    of them would stay in the -wal file until the next checkpoint."""
    session.info["checkpoint"] = True


@event.listens_for(Session, "after_commit")
def _checkpoint(session: Session) -> None:
    if not session.info.pop("checkpoint", False):
        return
    engine = session.get_bind()
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()  # outside any transaction, as the pragma needs
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in time, always aware and in UTC, on SQLite as on PostgreSQL.

    SQLite keeps no time zone and hands back naive datetimes, which cannot be compared
    with aware ones; this type stores UTC and gives back aware UTC everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use portal.database.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def rows_changed(session: Session | scoped_session[Any], statement: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows it changed (0 when another worker had)."""
    result = session.execute(statement)
    return int(cast("CursorResult[Any]", result).rowcount)
