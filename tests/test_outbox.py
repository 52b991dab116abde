"""The outbox and its worker, against a fake Twilio API over real HTTP."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from portal import create_app
from portal.database import utcnow
from portal.extensions import db
from portal.messaging import gateway as gateway_module
from portal.messaging.gateway import make_gateway
from portal.messaging.outbox import (
    OutboundMessage,
    claim_batch,
    deliver_due,
    queue_message,
    record_status,
)
from tests.conftest import make_environ
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

LINE = "+13145550100"
NOTICES = "+13145550101"


def twilio_environ(tmp_path: Path, fake: FakeTwilio, **overrides: str) -> dict[str, str]:
    return make_environ(
        tmp_path,
        PORTAL_SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=LINE,
        TWILIO_NOTICES_FROM_NUMBER=NOTICES,
        PORTAL_TWILIO_API_URL=fake.url,
        **overrides,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def twilio_app(request: pytest.FixtureRequest, tmp_path: Path, fake_twilio: FakeTwilio) -> Iterator[Flask]:
    overrides = {}
    if request.param == "postgresql":
        overrides["PORTAL_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = create_app({"TESTING": True}, environ=twilio_environ(tmp_path, fake_twilio, **overrides))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def queue(app: Flask, count: int = 1, **fields: object) -> list[int]:
    with app.app_context():
        options = {
            "to": "+13145550123",
            "body": "Your code is 123456",
            "sender": "notices",
            "purpose": "phone_code",
        }
        options.update(fields)
        messages = [queue_message(**options) for _ in range(count)]  # type: ignore[arg-type]
        db.session.commit()
        return [message.id for message in messages]


def row(app: Flask, message_id: int) -> OutboundMessage:
    with app.app_context():
        message = db.session.get(OutboundMessage, message_id)
        assert message is not None
        db.session.expunge(message)
        return message


def deliver_all(app: Flask) -> None:
    with app.app_context():
        gateway = make_gateway(app.config["PORTAL_SETTINGS"])
        while deliver_due(gateway):
            pass


def test_a_queued_message_reaches_twilio_from_the_right_number(
    twilio_app: Flask, fake_twilio: FakeTwilio
) -> None:
    (notice,) = queue(twilio_app)
    (alert,) = queue(
        twilio_app, to="+13145550111", body="CIT request R-7K3QM2", sender="line", purpose="dispatch_alert"
    )
    deliver_all(twilio_app)

    # Two recipients: sent at once, so they may arrive in either order.
    received = sorted(fake_twilio.messages, key=lambda m: m.to, reverse=True)
    assert [(m.to, m.from_, m.body) for m in received] == [
        # Notices say who they are from, by the campaign's English name; the line does not.
        ("+13145550123", NOTICES, "Call for the Pin: Your code is 123456"),
        ("+13145550111", LINE, "CIT request R-7K3QM2"),
    ]
    assert received[0].status_callback == "http://127.0.0.1:5000/sms/status"
    for message_id, message in zip((notice, alert), received, strict=True):
        stored = row(twilio_app, message_id)
        assert stored.status == "accepted"
        assert stored.provider_sid == message.sid


def test_server_errors_are_retried_with_backoff_then_sent(twilio_app: Flask, fake_twilio: FakeTwilio) -> None:
    fake_twilio.mode = "error_5xx"
    (message_id,) = queue(twilio_app)
    deliver_all(twilio_app)
    stored = row(twilio_app, message_id)
    assert (stored.status, stored.attempts, stored.error_code) == ("queued", 1, 20500)
    assert stored.next_attempt_at > utcnow()

    fake_twilio.mode = "accept"
    with twilio_app.app_context():
        db.session.execute(db.update(OutboundMessage).values(next_attempt_at=utcnow()))
        db.session.commit()
    deliver_all(twilio_app)
    assert row(twilio_app, message_id).status == "accepted"
    assert len(fake_twilio.messages) == 1


def test_an_opted_out_dispatch_phone_fails_loudly_and_is_not_retried(
    twilio_app: Flask, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    fake_twilio.mode = "opted_out"
    (message_id,) = queue(twilio_app, to="+13145550111", sender="line", purpose="dispatch_alert")
    with caplog.at_level(logging.WARNING):
        deliver_all(twilio_app)
        deliver_all(twilio_app)
    stored = row(twilio_app, message_id)
    assert (stored.status, stored.error_code, fake_twilio.attempts) == ("failed", 21610, 1)
    assert any(
        record.levelno == logging.ERROR and "21610" in record.getMessage() for record in caplog.records
    )


def test_a_refused_connection_is_retried(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    fake_twilio.stop()
    app = create_app({"TESTING": True}, environ=twilio_environ(tmp_path, fake_twilio))
    with app.app_context():
        upgrade()
    (message_id,) = queue(app)
    deliver_all(app)
    stored = row(app, message_id)
    assert (stored.status, stored.attempts) == ("queued", 1)
    fake_twilio.start()  # a new port: nothing was sent to the old one


def test_a_hanging_api_does_not_hold_the_worker(
    twilio_app: Flask, fake_twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway_module, "TWILIO_TIMEOUT", 0.5)
    fake_twilio.mode, fake_twilio.slow_seconds = "slow", 3
    (message_id,) = queue(twilio_app)
    started = time.monotonic()
    deliver_all(twilio_app)
    assert time.monotonic() - started < 2.5
    assert row(twilio_app, message_id).status == "queued"


def test_a_code_nobody_needs_any_more_is_given_up(twilio_app: Flask, fake_twilio: FakeTwilio) -> None:
    fake_twilio.mode = "error_5xx"
    (message_id,) = queue(twilio_app, give_up_after=timedelta(seconds=-1))
    deliver_all(twilio_app)
    assert row(twilio_app, message_id).status == "failed"


def test_a_dead_workers_claim_runs_out_and_the_message_is_sent(
    twilio_app: Flask, fake_twilio: FakeTwilio
) -> None:
    (message_id,) = queue(twilio_app)
    with twilio_app.app_context():
        assert [claimed.id for claimed in claim_batch()] == [message_id]  # ... and the worker dies here
        assert claim_batch() == []  # another worker leaves the leased row alone
        assert [claimed.id for claimed in claim_batch(now=utcnow() + timedelta(seconds=91))] == [message_id]


def test_two_workers_never_send_the_same_message(twilio_app: Flask, fake_twilio: FakeTwilio) -> None:
    ids = queue(twilio_app, count=40)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            deliver_all(twilio_app)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(fake_twilio.messages) == len(ids) == fake_twilio.attempts
    with twilio_app.app_context():
        statuses = db.session.scalars(select(OutboundMessage.status)).all()
    assert set(statuses) == {"accepted"}


def test_status_callbacks_only_move_forward(twilio_app: Flask, fake_twilio: FakeTwilio) -> None:
    (message_id,) = queue(twilio_app)
    deliver_all(twilio_app)
    sid = fake_twilio.messages[0].sid
    with twilio_app.app_context():
        assert record_status(sid, "delivered", None)
        assert record_status(sid, "sent", None)  # late and out of order: ignored
        assert not record_status("SMunknown", "delivered", None)
    assert row(twilio_app, message_id).status == "delivered"
