"""Texting the CIT line as Twilio would: signed webhook calls, a worker in a thread."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from portal import create_app
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.sms.webhook import webhook_auth_token
from portal.worker import run
from tests.conftest import make_environ
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

LINE = "+13145550100"
DISPATCH = ("+13145550111", "+13145550112")
FALLBACK = "+13145550119"
TEXTER = "+13145550150"
_sids = itertools.count(1)


def text_line_environ(tmp_path: Path, fake: FakeTwilio, **overrides: str) -> dict[str, str]:
    return make_environ(
        tmp_path,
        PORTAL_SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=LINE,
        PORTAL_TWILIO_API_URL=fake.url,
        PORTAL_DISPATCH_NUMBERS=",".join(DISPATCH),
        PORTAL_FALLBACK_NUMBERS=FALLBACK,
        **overrides,
    )


def make_text_line_app(
    tmp_path: Path, fake: FakeTwilio, environ: dict[str, str] | None = None, **overrides: str
) -> Flask:
    """A migrated app on the text line's settings (or on `environ`, to share its keys)."""
    from flask_migrate import upgrade

    app = create_app({"TESTING": True}, environ=environ or text_line_environ(tmp_path, fake, **overrides))
    with app.app_context():
        upgrade()
    return app


def signed(
    params: dict[str, str], path: str = "/sms/inbound", auth_token: str = AUTH_TOKEN
) -> dict[str, str]:
    signature = RequestValidator(auth_token).compute_signature("http://127.0.0.1:5000" + path, params)
    return {"X-Twilio-Signature": signature}


def send_text(client: FlaskClient, body: str, sender: str = TEXTER, sid: str | None = None):  # type: ignore[no-untyped-def]
    params = {
        "From": sender,
        "To": LINE,
        "Body": body,
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "AccountSid": ACCOUNT_SID,
    }
    # Signed with the app's own token: Twilio's, or in development the simulator's.
    token = webhook_auth_token(client.application.config["PORTAL_SETTINGS"])
    return client.post("/sms/inbound", data=params, headers=signed(params, auth_token=token))


def reply_text(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"<Message>(.*?)</Message>", response.get_data(as_text=True), re.S)
    return match.group(1) if match else ""


@contextmanager
def running_worker(app: Flask, count: int = 1) -> Iterator[None]:
    stop = threading.Event()

    def work() -> None:
        with app.app_context():
            run(stop)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)


def wait_until(condition, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for something a worker does in the background; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def outbox_bodies(app: Flask, purpose: str) -> list[str]:
    """What the line queued for one purpose (dispatch_alert, dispatch_update...), in order."""
    with app.app_context():
        query = (
            select(OutboundMessage.body)
            .where(OutboundMessage.purpose == purpose)
            .order_by(OutboundMessage.id)
        )
        return list(db.session.scalars(query))
