"""Database connection settings that every connection must carry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
