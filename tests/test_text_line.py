"""The CIT text line: texters' requests reach dispatch, never lost, never leaked."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.database import utcnow
from portal.dispatch.alerts import escalate_unreached
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.phones import phone_index
from portal.plans.services import file_plan
from portal.sms.conversation import forward_silent_texters
from portal.sms.models import Conversation
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import (
    DISPATCH,
    FALLBACK,
    TEXTER,
    make_text_line_app,
    reply_text,
    running_worker,
    send_text,
    signed,
    wait_until,
)


def requests(app: Flask) -> list[CitRequest]:
    with app.app_context():
        found = list(db.session.scalars(select(CitRequest).order_by(CitRequest.id)))
        for request in found:
            _ = request.location, request.messages
            db.session.expunge(request)
        return found


def outbox(app: Flask, purpose: str | None = None) -> list[tuple[str, str]]:
    with app.app_context():
        query = select(OutboundMessage).order_by(OutboundMessage.id)
        if purpose:
            query = query.where(OutboundMessage.purpose == purpose)
        return [(m.to_number, m.body) for m in db.session.scalars(query)]


def test_a_text_with_an_address_reaches_every_dispatch_phone_within_seconds(
    line: Flask, fake_twilio: FakeTwilio
) -> None:
    response = send_text(line.test_client(), "PIN 4500 Main St")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    reply = reply_text(response)
    (request,) = requests(line)
    assert request.reference in reply and "911" in reply and "988" in reply
    assert request.location == "4500 Main St"

    sent = time.monotonic()
    with running_worker(line):
        while len(fake_twilio.messages) < len(DISPATCH) and time.monotonic() - sent < 5:
            time.sleep(0.05)
    assert sorted(m.to for m in fake_twilio.messages) == sorted(DISPATCH)
    assert all(m.at - sent < 5 for m in fake_twilio.messages)
    alert = fake_twilio.messages[0].body
    assert request.reference in alert and "4500 Main St" in alert and "(314) 555-0150" in alert


@pytest.mark.parametrize("signature", ["missing", "forged", "tampered"])
def test_a_bad_signature_gets_403_and_writes_nothing(line: Flask, signature: str) -> None:
    params = {"From": TEXTER, "To": "+13145550100", "Body": "PIN 4500 Main St", "MessageSid": "SMbad"}
    headers = {
        "missing": {},
        "forged": {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        "tampered": signed({**params, "Body": "PIN 1 Other St"}),
    }[signature]
    response = line.test_client().post("/sms/inbound", data=params, headers=headers)
    assert response.status_code == 403
    assert requests(line) == [] and outbox(line) == []


def test_the_same_message_delivered_five_times_makes_one_request(line: Flask) -> None:
    client = line.test_client()
    replies = {reply_text(send_text(client, "PIN 4500 Main St", sid="SMrepeat")) for _ in range(5)}
    assert len(replies) == 1
    assert len(requests(line)) == 1
    assert sorted(to for to, _body in outbox(line, "dispatch_alert")) == sorted(DISPATCH)


def test_without_an_address_the_line_asks_where_then_forwards(line: Flask) -> None:
    client = line.test_client()
    first = reply_text(send_text(client, "PIN"))
    assert "911" in first and "988" in first and "address" in first
    assert requests(line) == []
    second = reply_text(send_text(client, "Grand and Olive"))
    (request,) = requests(line)
    assert request.location == "Grand and Olive" and request.reference in second
    assert [m.body for m in request.messages] == ["PIN", "Grand and Olive"]


def test_help_alone_says_what_the_line_is_then_where(line: Flask) -> None:
    for number, word in enumerate(("HELP", "info", "Help!")):
        reply = reply_text(send_text(line.test_client(), word, sender=f"+1314555017{number}"))
        assert "911 police dispatch" in reply and "988" in reply and "STOP" in reply
        assert "Where is help needed?" in reply
    assert requests(line) == []


def test_later_texts_are_added_and_forwarded(line: Flask) -> None:
    client = line.test_client()
    send_text(client, "PIN 4500 Main St")
    reply = reply_text(send_text(client, "he has a knife now"))
    (request,) = requests(line)
    assert request.reference in reply
    assert [m.body for m in request.messages][-1] == "he has a knife now"
    updates = outbox(line, "dispatch_update")
    assert sorted(to for to, _ in updates) == sorted(DISPATCH)
    assert all("he has a knife now" in body and request.reference in body for _to, body in updates)


def test_a_texter_silent_for_two_minutes_is_still_forwarded(line: Flask) -> None:
    send_text(line.test_client(), "CIT")
    with line.app_context():
        forward_silent_texters()
        assert requests(line) == []  # not yet
        db.session.execute(
            db.update(Conversation).values(started_at=utcnow() - timedelta(minutes=2, seconds=1))
        )
        db.session.commit()
        forward_silent_texters()
    (request,) = requests(line)
    assert request.location is None
    alerts = outbox(line, "dispatch_alert")
    assert (
        len(alerts) == len(DISPATCH)
        and "Location: not given" in alerts[0][1]
        and "(314) 555-0150" in alerts[0][1]
    )
    ((to, body),) = outbox(line, "texter_reply")
    assert to == TEXTER and request.reference in body and "911" in body


def plan_for(app: Flask, phone: str, canary: str = "") -> str:
    with app.app_context():
        plan = file_plan(
            {
                "where": {"home_address": "77 Hidden Lane"},
                "crisis": {"what_helps": f"Music {canary}"},
                "care": {"diagnoses": f"Dx {canary}"},
            },
            name=f"Pat {canary}",
            born=date(1980, 1, 1),
            language="es",
            cit_requested=True,
            filed_by="self",
            phones=[(phone, "person")],
        )
        db.session.commit()
        return plan.reference


def test_a_plan_phone_is_offered_its_home_address_without_echoing_it(line: Flask) -> None:
    reference = plan_for(line, TEXTER)
    client = line.test_client()
    first = reply_text(send_text(client, "PIN"))
    assert "1" in first and "77 Hidden Lane" not in first
    assert "llame" in first.lower() or "911" in first  # the plan's language: Spanish
    second = reply_text(send_text(client, "1"))
    assert "77 Hidden Lane" not in second
    (request,) = requests(line)
    assert request.location == "77 Hidden Lane" and request.plan_reference == reference
    with line.app_context():
        from portal.audit import plan_views

        (view,) = plan_views(reference)  # the family reads it in its access log
        assert request.reference in (view.reason or "") and "home address" in (view.reason or "")
    alert = outbox(line, "dispatch_alert")[0][1]
    assert '"77 Hidden Lane" (home address on crisis plan)' in alert
    assert f"Crisis plan {reference} on file, asks for CIT" in alert and "Language: Spanish" in alert


def test_plan_contents_never_reach_an_sms_or_a_log_line(
    line: Flask, fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "Canary-77aa"
    plan_for(line, TEXTER, canary)
    with caplog.at_level(logging.DEBUG):
        client = line.test_client()
        replies = [reply_text(send_text(client, body)) for body in ("PIN", "1", "still here")]
        with running_worker(line):
            wait_until(lambda: len(fake_twilio.messages) >= 2 * len(DISPATCH))  # alert and update
    assert all(canary not in reply for reply in replies)
    assert all(canary not in body for _to, body in outbox(line))
    assert all(canary not in m.body for m in fake_twilio.messages)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert canary not in logged and "5550150" not in logged


@pytest.mark.parametrize(
    ("first", "expect"),
    [
        ("AYUDA", "911"),
        ("necesito ayuda por favor", "911"),
        ("救命", "911"),
        ("مساعده", "911"),
        ("النجدة", "911"),
        ("POMOĆ", "911"),
        ("cứu", "911"),
        ("giúp", "911"),
    ],
)
def test_keywords_in_each_language_get_a_reply_in_that_language(line: Flask, first: str, expect: str) -> None:
    reply = reply_text(send_text(line.test_client(), first))
    english = reply_text(send_text(line.test_client(), "PIN", sender="+13145550160"))
    assert expect in reply and reply != english


def test_switch_words_change_the_language(line: Flask) -> None:
    client = line.test_client()
    english = reply_text(send_text(client, "PIN"))
    spanish = reply_text(send_text(client, "ES"))
    assert spanish != english and "911" in spanish
    reply = reply_text(send_text(client, "4500 Main St"))
    (request,) = requests(line)
    assert request.language == "es" and request.reference in reply


def test_stop_is_honoured_and_start_undoes_it(line: Flask) -> None:
    client = line.test_client()
    assert reply_text(send_text(client, "STOP")) == ""
    # Still forwarded to dispatch (safety first), but the texter is sent nothing.
    assert reply_text(send_text(client, "PIN 4500 Main St")) == ""
    assert len(requests(line)) == 1
    assert outbox(line, "texter_reply") == []
    assert reply_text(send_text(client, "START")) == ""
    assert reply_text(send_text(client, "more info")) != ""


def test_a_flood_before_any_request_is_capped(line: Flask) -> None:
    client = line.test_client()
    replies = [reply_text(send_text(client, f"hello {n}")) for n in range(1, 13)]
    assert all(replies[:10]) and replies[10:] == ["", ""]
    with line.app_context():
        held = db.session.get(Conversation, phone_index(TEXTER)).held_messages
        assert [text["body"] for text in held][-1] == "hello 12"  # the texts were still taken


def test_a_number_in_a_message_is_never_texted(line: Flask) -> None:
    send_text(line.test_client(), "PIN 4500 Main St, call my mom at 314-555-0177 or +13145550178")
    recipients = {to for to, _body in outbox(line)}
    assert recipients <= {*DISPATCH, TEXTER}


def test_dispatch_unreachable_tries_fallback_and_tells_the_texter_within_75_seconds(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.mode = "error_5xx"
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_DISPATCH_TIMEOUT="1")
    started = time.monotonic()
    send_text(app.test_client(), "PIN 4500 Main St")
    with running_worker(app):
        time.sleep(1.5)
        fake_twilio.mode = "accept"  # Twilio is back for the fallback and the bounce-back
        while {FALLBACK, TEXTER} - {m.to for m in fake_twilio.messages} and time.monotonic() - started < 75:
            time.sleep(0.1)
    delivered = {m.to: m for m in fake_twilio.messages}
    assert FALLBACK in delivered and TEXTER in delivered
    assert "Call 911" in delivered[TEXTER].body
    assert delivered[TEXTER].at - started < 75


@pytest.mark.slow
def test_with_the_api_down_fallback_and_bounce_back_are_attempted_within_75_seconds(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    """The real timing: the default 60-second wait, and Twilio failing all along."""
    fake_twilio.mode = "error_5xx"
    app = make_text_line_app(tmp_path, fake_twilio)
    started = time.monotonic()
    send_text(app.test_client(), "PIN 4500 Main St")
    first_try: dict[str, float] = {}
    with running_worker(app):
        while len(first_try) < 2 and time.monotonic() - started < 80:
            time.sleep(0.2)
            for to, at in list(fake_twilio.tried):
                if to in (FALLBACK, TEXTER):
                    first_try.setdefault(to, at - started)
    assert set(first_try) == {FALLBACK, TEXTER}, first_try
    assert all(60 <= seconds < 75 for seconds in first_try.values()), first_try


def test_an_accepted_alert_means_no_escalation(line: Flask, fake_twilio: FakeTwilio) -> None:
    send_text(line.test_client(), "PIN 4500 Main St")
    with running_worker(line):
        wait_until(lambda: len(fake_twilio.messages) == len(DISPATCH))
    with line.app_context():
        db.session.execute(db.update(CitRequest).values(created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
        escalate_unreached()
    assert outbox(line, "fallback_alert") == []


def test_the_fallback_url_answers_without_a_database(tmp_path: Path, fake_twilio: FakeTwilio) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'portal.db'}"
    from portal import create_app
    from tests.text_line_helpers import text_line_environ

    app = create_app(
        {"TESTING": True}, environ=text_line_environ(tmp_path, fake_twilio, PORTAL_DATABASE_URL=unreachable)
    )
    params = {"From": TEXTER, "Body": "PIN", "MessageSid": "SMfallback"}
    response = app.test_client().post("/sms/fallback", data=params, headers=signed(params, "/sms/fallback"))
    assert response.status_code == 200 and "911" in reply_text(response)
    unsigned = app.test_client().post("/sms/fallback", data=params)
    assert unsigned.status_code == 403


def test_twilio_status_callbacks_reach_the_app_over_http(line: Flask, fake_twilio: FakeTwilio) -> None:
    from werkzeug.serving import make_server

    from tests.fake_twilio import send_status

    server = make_server("127.0.0.1", 0, line, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        send_text(line.test_client(), "PIN 4500 Main St")
        with running_worker(line):
            wait_until(lambda: len(fake_twilio.messages) == len(DISPATCH))
        first, second = fake_twilio.messages
        app_url = f"http://127.0.0.1:{server.server_port}"
        assert send_status(app_url, first, "delivered") == 204
        assert send_status(app_url, second, "undelivered", "30003") == 204
        assert send_status(app_url, first, "sent") == 204  # late: ignored
    finally:
        server.shutdown()
    with line.app_context():
        statuses = dict(
            db.session.execute(select(OutboundMessage.provider_sid, OutboundMessage.status)).all()
        )
    assert statuses == {first.sid: "delivered", second.sid: "undelivered"}


def test_an_undelivered_callback_before_the_send_returns_still_escalates(
    line: Flask, fake_twilio: FakeTwilio
) -> None:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, line, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake_twilio.early_status, fake_twilio.app_url = "undelivered", f"http://127.0.0.1:{server.server_port}"
    try:
        send_text(line.test_client(), "PIN 4500 Main St")
        with running_worker(line):
            wait_until(lambda: len(fake_twilio.messages) == len(DISPATCH))
            wait_until(lambda: {s for _to, s in statuses(line)} == {"undelivered"})
    finally:
        server.shutdown()
    with line.app_context():
        db.session.execute(db.update(CitRequest).values(created_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
        escalate_unreached()
    assert [to for to, _body in outbox(line, "fallback_alert")] == [FALLBACK]


def statuses(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        query = select(OutboundMessage.to_number, OutboundMessage.status).where(
            OutboundMessage.purpose == "dispatch_alert"
        )
        return [(to, status) for to, status in db.session.execute(query)]


def test_signed_status_callbacks_are_recorded(line: Flask, fake_twilio: FakeTwilio) -> None:
    send_text(line.test_client(), "PIN 4500 Main St")
    with running_worker(line):
        wait_until(lambda: len(fake_twilio.messages) == len(DISPATCH))
    sid = fake_twilio.messages[0].sid
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    client = line.test_client()
    assert client.post("/sms/status", data=params).status_code == 403
    assert client.post("/sms/status", data=params, headers=signed(params, "/sms/status")).status_code == 204
    with line.app_context():
        status = db.session.scalar(select(OutboundMessage.status).where(OutboundMessage.provider_sid == sid))
        assert status == "delivered"
        assert db.session.scalar(select(func.count()).select_from(CitRequest)) == 1


def test_closed_requests_are_deleted_after_the_retention_period(line: Flask) -> None:
    from portal.dispatch.models import RequestMessage
    from portal.dispatch.retention import delete_old_texter_data
    from portal.sms.models import InboundMessage
    from portal.sms.retention import forget_old_texts

    send_text(line.test_client(), "PIN 4500 Main St")
    send_text(line.test_client(), "PIN 12 Oak Ave", sender="+13145550161")
    with line.app_context():
        first, second = db.session.scalars(select(CitRequest).order_by(CitRequest.id)).all()
        first.status, first.closed_at = "closed", utcnow() - timedelta(days=366)
        second.status, second.closed_at = "closed", utcnow() - timedelta(days=300)
        db.session.execute(db.update(InboundMessage).values(received_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        delete_old_texter_data()
        forget_old_texts()
        assert [r.location for r in db.session.scalars(select(CitRequest))] == ["12 Oak Ave"]
        assert db.session.scalar(select(func.count()).select_from(RequestMessage)) == 1
        assert all(m.cit_request_id == second.id for m in db.session.scalars(select(OutboundMessage)))
        # After a day the replies are gone; the MessageSids stay as long as requests do.
        assert set(db.session.scalars(select(InboundMessage.reply))) == {None}
        db.session.execute(db.update(InboundMessage).values(received_at=utcnow() - timedelta(days=366)))
        db.session.commit()
        forget_old_texts()
        assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_a_signed_text_replayed_days_later_creates_nothing(line: Flask) -> None:
    from portal.sms.models import InboundMessage
    from portal.sms.retention import forget_old_texts

    client = line.test_client()
    send_text(client, "PIN 21 Replay Ave", sid="SMcaptured")
    with line.app_context():
        request = db.session.scalars(select(CitRequest)).one()
        request.status, request.closed_at = "closed", utcnow()
        db.session.execute(db.update(InboundMessage).values(received_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        forget_old_texts()
    replayed = send_text(client, "PIN 21 Replay Ave", sid="SMcaptured")
    assert replayed.status_code == 200 and reply_text(replayed) == ""
    assert len(requests(line)) == 1 and len(outbox(line, "dispatch_alert")) == len(DISPATCH)
