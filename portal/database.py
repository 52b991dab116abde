"""Database connection settings that every connection must carry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.types import TypeDecorator


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite durable and strict on every connection (DESIGN.md, Data protection).

    WAL with synchronous=FULL means a 200 answered to Twilio is on disk; secure_delete
    overwrites deleted plan rows instead of leaving them in free pages.
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
        # Take the write lock up front: a transaction that reads then writes would
        # otherwise fail with "database is locked" instead of waiting its turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
