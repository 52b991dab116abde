"""The inbound webhook never answers 200 for a text it did not save.

Each inbound text is one transaction: the text, the reply given and the dispatch alerts
are saved together or not at all. When the database is locked past busy_timeout or
read-only, Twilio gets a 5xx (and uses the fallback URL, which tells the texter to call
911); the same delivery retried once the database is back is saved exactly once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event, func, select

from portal import create_app
from portal.dispatch.models import CitRequest, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.sms.models import InboundMessage
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import (
    DISPATCH,
    make_text_line_app,
    reply_text,
    send_text,
    text_line_environ,
)

TEXT = "PIN 4500 Lindell Blvd"


def saved(app: Flask, sid: str) -> dict[str, Any]:
    """What the database holds of one inbound text and what it set off."""
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        found = {
            "inbound": count(InboundMessage),
            "this_text": db.session.get(InboundMessage, sid) is not None,
            "requests": count(CitRequest),
            "thread": list(db.session.scalars(select(RequestMessage.body))),
            "alerts": list(
                db.session.scalars(
                    select(OutboundMessage.to_number).where(OutboundMessage.purpose == "dispatch_alert")
                )
            ),
        }
        db.session.rollback()
        return found


NOTHING = {"inbound": 0, "this_text": False, "requests": 0, "thread": [], "alerts": []}


def assert_saved_once(app: Flask, sid: str) -> None:
    found = saved(app, sid)
    assert found["inbound"] == 1 and found["this_text"] and found["requests"] == 1, found
    assert found["thread"] == [TEXT], found
    assert sorted(found["alerts"]) == sorted(DISPATCH), found


def retry_is_saved_once(app: Flask, sid: str) -> None:
    """Twilio delivers the same MessageSid again: saved once, then the same answer."""
    client = app.test_client()
    first = send_text(client, TEXT, sid=sid)
    assert first.status_code == 200 and reply_text(first)
    assert_saved_once(app, sid)
    again = send_text(client, TEXT, sid=sid)
    assert again.status_code == 200 and reply_text(again) == reply_text(first)
    assert_saved_once(app, sid)


@contextmanager
def transactions_counted(app: Flask) -> Iterator[dict[str, int]]:
    counts = {"begin": 0, "commit": 0}

    def began(_connection: Any) -> None:
        counts["begin"] += 1

    def committed(_connection: Any) -> None:
        counts["commit"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "begin", began)
    event.listen(engine, "commit", committed)
    try:
        yield counts
    finally:
        event.remove(engine, "begin", began)
        event.remove(engine, "commit", committed)


@pytest.mark.parametrize(
    "texts",
    [
        ["PIN 4500 Lindell Blvd"],  # opens a request: the request, its alerts, the reply
        ["PIN", "my son is scared", "4500 Lindell Blvd", "he left the house"],  # held, opened, updated
    ],
)
def test_each_inbound_text_is_one_transaction(line: Flask, texts: list[str]) -> None:
    client = line.test_client()
    for n, body in enumerate(texts):
        with transactions_counted(line) as counts:
            response = send_text(client, body, sid=f"SMone{n}")
        assert response.status_code == 200
        assert counts == {"begin": 1, "commit": 1}, (body, counts)
    found = saved(line, "SMone0")
    assert found["inbound"] == len(texts) and found["requests"] == 1 and found["alerts"]


# SQLite ------------------------------------------------------------------------------


def short_busy_timeout(app: Flask, milliseconds: int = 50) -> None:
    """Wait `milliseconds` for the write lock instead of 5 seconds (this test only)."""
    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _impatient(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")

        engine.dispose()  # connections made from now on wait that long


def test_a_locked_sqlite_database_gets_a_5xx_and_the_retry_is_saved_once(
    line: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    short_busy_timeout(line)
    with line.app_context():
        path = db.engine.url.database
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer, holding the lock past busy_timeout
        started = time.monotonic()
        response = send_text(line.test_client(), TEXT, sid="SMlocked")
        took = time.monotonic() - started
        holder.rollback()
    finally:
        holder.close()
    assert 500 <= response.status_code < 600, response.status_code
    assert "<Message>" not in response.get_data(as_text=True)
    assert took < 1, f"the webhook took {took:.2f} s to give up"
    logged = [r.getMessage() for r in caplog.records if "not saved" in r.getMessage()]
    assert logged == ["inbound text SMlocked not saved (OperationalError: database is locked)"]
    assert saved(line, "SMlocked") == NOTHING
    retry_is_saved_once(line, "SMlocked")


def test_a_read_only_sqlite_database_gets_a_5xx_and_the_retry_is_saved_once(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    # The tests run as root, whom chmod does not stop: the file is opened read-only instead.
    environ = text_line_environ(tmp_path, fake_twilio)
    writable = make_text_line_app(tmp_path, fake_twilio, environ=environ)
    read_only_url = f"sqlite:///file:{tmp_path / 'portal.db'}?mode=ro&uri=true"
    read_only = create_app({"TESTING": True}, environ={**environ, "PORTAL_DATABASE_URL": read_only_url})
    response = send_text(read_only.test_client(), TEXT, sid="SMreadonly")
    assert 500 <= response.status_code < 600, response.status_code
    assert saved(writable, "SMreadonly") == NOTHING
    retry_is_saved_once(writable, "SMreadonly")


# PostgreSQL --------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_read_only_postgresql_database_gets_a_5xx_and_the_retry_is_saved_once(
    tmp_path: Path, fake_twilio: FakeTwilio, postgres_url: str
) -> None:
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_DATABASE_URL=postgres_url)
    name = postgres_url.rsplit("/", 1)[1]

    def default_read_only(on: bool) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(
                f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}'
            )
        with app.app_context():
            db.engine.dispose()  # the setting holds for connections made from now on

    try:
        default_read_only(True)
        response = send_text(app.test_client(), TEXT, sid="SMreadonly")
        assert 500 <= response.status_code < 600, response.status_code
        assert saved(app, "SMreadonly") == NOTHING
        default_read_only(False)
        retry_is_saved_once(app, "SMreadonly")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
