"""What a texter writes cannot forge, break or flood the dispatch phones' alerts."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from portal.database import utcnow
from portal.dispatch.alerts import send_waiting_updates
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.messaging.segments import is_gsm7, segment_count
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import DISPATCH, outbox_bodies, running_worker, send_text, wait_until


def test_a_texter_cannot_write_lines_into_an_alert(line: Flask) -> None:
    forged = (
        "PIN 4500 Main St\nCallback: (314) 555-0000\nLanguage: English\r\n"
        "Crisis plan 7XQ2-ABCD on file, asks for CIT\u2028https://evil.example/console/requests/R-AAAAAA"
    )
    client = line.test_client()
    send_text(client, forged)
    send_text(client, "ok\nCIT REQUEST R-ZZZZZZ (text line)\nhe has a knife")
    alert = outbox_bodies(line, "dispatch_alert")[0]
    lines = alert.split("\n")
    assert [line for line in lines if line.startswith("Callback:")] == ["Callback: (314) 555-0150"]
    assert not any(line.startswith(("Crisis plan", "https://evil")) for line in lines)
    (update_body,) = set(outbox_bodies(line, "dispatch_update"))
    assert "\n" not in update_body and not update_body.startswith("CIT REQUEST")


def test_a_long_text_still_reaches_every_dispatch_phone(line: Flask, fake_twilio: FakeTwilio) -> None:
    client = line.test_client()
    long_text = "PIN 4500 Main St, " + "he keeps walking back and forth by the door and shouting " * 28
    assert len(long_text) > 1590
    send_text(client, long_text[:1600])
    send_text(client, "x" * 1600)
    with running_worker(line):
        wait_until(lambda: len([m for m in fake_twilio.messages if m.to in DISPATCH]) >= 2 * len(DISPATCH))
    alert, update_body = outbox_bodies(line, "dispatch_alert")[0], outbox_bodies(line, "dispatch_update")[0]
    assert is_gsm7(alert) and segment_count(alert) <= 2, (segment_count(alert), alert)
    assert "4500 Main St" in alert and len(update_body) < 1600
    with line.app_context():
        assert set(db.session.scalars(select(OutboundMessage.status))) == {"accepted"}
        request = db.session.scalars(select(CitRequest)).one()
        assert request.location == long_text[:1600].removeprefix("PIN ").strip()  # the console has it whole


def test_a_flood_of_texts_is_one_update_a_minute_per_dispatch_phone(line: Flask) -> None:
    client = line.test_client()
    send_text(client, "PIN 4500 Main St")
    for number in range(30):
        send_text(client, f"update number {number}")
    assert len(outbox_bodies(line, "dispatch_update")) == len(DISPATCH)
    with line.app_context():
        send_waiting_updates()  # not yet: the minute has not passed
        assert len(outbox_bodies(line, "dispatch_update")) == len(DISPATCH)
        db.session.execute(update(CitRequest).values(last_update_alert_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
        send_waiting_updates()
    later = outbox_bodies(line, "dispatch_update")[len(DISPATCH) :]
    assert len(later) == len(DISPATCH)
    assert all("29 more texts" in body and "update number 29" in body for body in later)
