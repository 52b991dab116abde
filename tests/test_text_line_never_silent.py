"""The text line never goes silent on a texter, and never loses what they wrote.

Questions and descriptions are kept and asked about once more; an open request is
answered even past the reply cap; the texter hears when a dispatcher has the request;
a new place reaches dispatch; a texter who sent STOP is shown to dispatch as such; a
lost status callback is made good by a look-up.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal.database import utcnow
from portal.dispatch.alerts import escalate_unreached
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.messaging.gateway import TwilioGateway
from portal.messaging.outbox import OutboundMessage, reconcile_statuses
from portal.phones import phone_index
from portal.sms.conversation import answer_waiting_texters, forward_silent_texters
from portal.sms.models import Conversation
from tests.console_helpers import csrf_token, make_user, sign_in
from tests.fake_twilio import FakeTwilio
from tests.reply_language import language_of
from tests.text_line_helpers import (
    DISPATCH,
    FALLBACK,
    TEXTER,
    make_text_line_app,
    outbox_bodies,
    reply_text,
    running_worker,
    send_text,
    wait_until,
)


def the_request(app: Flask) -> CitRequest:
    with app.app_context():
        request = db.session.scalars(select(CitRequest)).one()
        _ = request.location, [m.body for m in request.messages]
        db.session.expunge(request)
        return request


def texts_to(app: Flask, number: str) -> list[str]:
    with app.app_context():
        query = (
            select(OutboundMessage)
            .where(OutboundMessage.purpose != "dispatch_alert")
            .order_by(OutboundMessage.id)
        )
        return [m.body for m in db.session.scalars(query) if m.to_number == number]


def test_a_question_is_kept_asked_about_once_then_forwarded_as_unclear(line: Flask) -> None:
    client = line.test_client()
    first = reply_text(send_text(client, "help me"))
    question = reply_text(send_text(client, "what is this?"))
    story = reply_text(send_text(client, "he is talking about hurting himself"))
    assert "Where is help needed?" in first
    assert "we need a place" in question and "nearest corner" in question
    assert "we need a place" not in story and "nearest corner" in story and "911" in story
    with line.app_context():
        assert db.session.scalars(select(CitRequest)).all() == []  # no question is a place
        db.session.execute(update(Conversation).values(started_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
        forward_silent_texters()
    request = the_request(line)
    assert request.location is None
    assert [m.body for m in request.messages] == [
        "help me",
        "what is this?",
        "he is talking about hurting himself",
    ]
    with line.app_context():
        alert = next(iter(outbox_bodies(line, "dispatch_alert")), None)
        updates = outbox_bodies(line, "dispatch_update")
        first_text_at = db.session.get(CitRequest, request.id).messages[0].at
    assert alert is not None and "Location: unclear" in alert
    # Dispatch reads what the texter wrote, as they were told it would.
    assert sum("he is talking about hurting himself" in body for body in updates) == len(DISPATCH)
    assert sum("what is this?" in body for body in updates) == len(DISPATCH)
    assert not any(body.endswith("help me") for body in updates)  # nothing but a call for help
    assert first_text_at < utcnow() - timedelta(minutes=2)  # when it was written, not forwarded


def test_a_bare_keyword_left_alone_is_forwarded_as_not_given(line: Flask) -> None:
    send_text(line.test_client(), "¡Ayuda!")
    with line.app_context():
        db.session.execute(update(Conversation).values(started_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
        forward_silent_texters()
        alert = next(iter(outbox_bodies(line, "dispatch_alert")), None)
    assert alert is not None and "Location: not given" in alert


@pytest.mark.parametrize("one", ["1", "١", "۱", "１", " 1. "])
def test_one_in_any_script_takes_the_plan_home_address(line: Flask, one: str) -> None:
    from tests.test_text_line import plan_for

    plan_for(line, TEXTER)
    client = line.test_client()
    send_text(client, "مساعدة")
    send_text(client, one)
    request = the_request(line)
    assert (request.location, request.location_source) == ("77 Hidden Lane", "plan_home")


def test_the_reply_cap_never_silences_an_open_request(line: Flask, fake_twilio: FakeTwilio) -> None:
    client = line.test_client()
    updates = ["PIN 4500 Lindell Blvd"] + [f"update {n}: hurry" for n in range(1, 15)]
    replies = [reply_text(send_text(client, text)) for text in updates]
    assert all(replies[:10]), replies
    unanswered = [text for text, reply in zip(updates, replies, strict=True) if not reply]
    assert unanswered, "the cap was never reached"
    request = the_request(line)
    assert [m.body for m in request.messages] == updates  # nothing the texter wrote is dropped

    # A minute on, the texts not answered are answered together, through the outbox.
    with line.app_context():
        db.session.execute(update(Conversation).values(last_reply_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
        answer_waiting_texters()
    with running_worker(line):
        wait_until(lambda: any(m.to == TEXTER for m in fake_twilio.messages))
    (combined,) = [m.body for m in fake_twilio.messages if m.to == TEXTER]
    assert f"your last {len(unanswered)} messages" in combined and request.reference in combined

    # Past the minute, the webhook itself answers at once, again combined.
    with line.app_context():
        db.session.execute(update(Conversation).values(last_reply_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
    late = reply_text(send_text(client, "are you coming?"))
    assert "your last message" in late and request.reference in late


def dispatcher_client(app: Flask) -> FlaskClient:
    secret = make_user(app, "dee@example.org", "dispatcher")
    client = app.test_client()
    sign_in(app, client, "dee@example.org", secret)
    return client


def test_the_texter_is_told_once_when_a_dispatcher_acknowledges(line: Flask) -> None:
    send_text(line.test_client(), "AYUDA 4500 Lindell Blvd")
    reference = the_request(line).reference
    dispatcher = dispatcher_client(line)
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    for _ in range(2):
        dispatcher.post(f"/console/requests/{reference}/acknowledge", data={"csrf_token": token})
    (told,) = texts_to(line, TEXTER)
    assert reference in told and "911" in told and "es" in language_of(told)
    assert "dispatcher has it" not in told
    later = reply_text(send_text(line.test_client(), "esta temblando"))
    assert "es" in language_of(later) and reference in later


def test_what_was_written_before_the_place_reaches_dispatch(line: Flask) -> None:
    client = line.test_client()
    for text in ("help", "my son is hearing voices and wont stop yelling", "4500 Lindell Blvd"):
        send_text(client, text)
    with line.app_context():
        alert = next(iter(outbox_bodies(line, "dispatch_alert")), None)
        updates = outbox_bodies(line, "dispatch_update")
    assert alert is not None and 'Location: "4500 Lindell Blvd"' in alert
    assert len(updates) == len(DISPATCH) and all("hearing voices" in body for body in updates)


def close_with_a_text(app: Flask, reference: str) -> None:
    """A dispatcher closes the request and has the texter told."""
    dispatcher = dispatcher_client(app)
    token = csrf_token(dispatcher, f"/console/requests/{reference}")
    dispatcher.post(
        f"/console/requests/{reference}/close",
        data={"csrf_token": token, "disposition": "cit_dispatched", "text_texter": "yes"},
    )


def test_thanks_after_closing_is_no_new_request(line: Flask) -> None:
    client = line.test_client()
    send_text(client, "PIN 4500 Lindell Blvd")
    close_with_a_text(line, the_request(line).reference)
    thanks = reply_text(send_text(client, "thank you!!"))
    assert "closed" in thanks and "911" in thanks
    with line.app_context():
        db.session.execute(update(Conversation).values(started_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
        forward_silent_texters()
        assert len(db.session.scalars(select(CitRequest)).all()) == 1
    again = reply_text(send_text(client, "he is back and yelling"))
    assert "Where is help needed?" in again  # a new text that is no thanks starts again


def test_closing_does_not_read_as_nobody_is_coming(line: Flask) -> None:
    send_text(line.test_client(), "PIN 4500 Lindell Blvd")
    close_with_a_text(line, the_request(line).reference)
    closing = texts_to(line, TEXTER)[-1]
    assert "If help was sent, it is still on its way" in closing and "911" in closing


def test_a_second_place_changes_the_location_and_alerts_dispatch(
    line: Flask, fake_twilio: FakeTwilio
) -> None:
    client = line.test_client()
    send_text(client, "PIN 4500 Lindell Blvd")
    reply = reply_text(send_text(client, "PIN 900 Olive St"))
    request = the_request(line)
    assert request.location == "900 Olive St" and request.reference in reply
    with line.app_context():
        thread = [m.body for m in db.session.get(CitRequest, request.id).messages]
    assert "PIN 900 Olive St" in thread and any("Was: 4500 Lindell Blvd" in body for body in thread)
    with running_worker(line):
        wait_until(lambda: sum("LOCATION CHANGED" in m.body for m in fake_twilio.messages) == len(DISPATCH))
    changed = [m for m in fake_twilio.messages if "LOCATION CHANGED" in m.body]
    assert sorted(m.to for m in changed) == sorted(DISPATCH)
    assert all("900 Olive St" in m.body and "4500 Lindell Blvd" in m.body for m in changed)


def test_an_opted_out_texter_is_shown_to_dispatch_as_call_back(line: Flask) -> None:
    client = line.test_client()
    send_text(client, "STOP")
    assert reply_text(send_text(client, "PIN 4500 Lindell Blvd")) == ""
    with line.app_context():
        alert = next(iter(outbox_bodies(line, "dispatch_alert")), None)
    assert alert is not None and "Texter opted out of texts: call back" in alert
    reference = the_request(line).reference
    dispatcher = dispatcher_client(line)
    rows = dispatcher.get("/console/queue/rows", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Opted out of texts: call back" in rows
    page = dispatcher.get(f"/console/requests/{reference}").get_data(as_text=True)
    assert "(314) 555-0150" in page and "Call back instead" in page
    assert f"/console/requests/{reference}/reply" not in page  # no text can reach them


def test_stop_during_an_open_request_tells_dispatch(line: Flask) -> None:
    client = line.test_client()
    send_text(client, "PIN 4500 Lindell Blvd")
    send_text(client, "stop")
    with line.app_context():
        updates = outbox_bodies(line, "dispatch_update")
    assert len(updates) == len(DISPATCH) and all(
        "opted out" in body and "call back" in body for body in updates
    )


def test_a_lost_status_callback_is_made_good_by_a_look_up(line: Flask, fake_twilio: FakeTwilio) -> None:
    send_text(line.test_client(), "PIN 4500 Lindell Blvd")
    with running_worker(line):
        wait_until(lambda: len(fake_twilio.messages) >= len(DISPATCH))
    # The fake API never posts a status callback: the alerts stay "accepted".
    with line.app_context():
        statuses = set(db.session.scalars(select(OutboundMessage.status)))
        assert statuses == {"accepted"}
        gateway = TwilioGateway(line.config["PORTAL_SETTINGS"])
        assert reconcile_statuses(gateway) == 0  # not yet: callbacks may still come
        db.session.execute(update(OutboundMessage).values(accepted_at=utcnow() - timedelta(minutes=6)))
        db.session.commit()
        assert reconcile_statuses(gateway) == len(DISPATCH)
        assert set(db.session.scalars(select(OutboundMessage.status))) == {"delivered"}
        assert reconcile_statuses(gateway) == 0  # final: never looked up again
    assert len(fake_twilio.lookups) == len(DISPATCH)


def test_an_alert_found_undelivered_by_a_look_up_escalates(line: Flask, fake_twilio: FakeTwilio) -> None:
    fake_twilio.final_status = "undelivered"
    send_text(line.test_client(), "PIN 4500 Lindell Blvd")
    with running_worker(line):
        wait_until(lambda: len(fake_twilio.messages) >= len(DISPATCH))
    with line.app_context():
        db.session.execute(update(OutboundMessage).values(accepted_at=utcnow() - timedelta(minutes=6)))
        db.session.execute(update(CitRequest).values(created_at=utcnow() - timedelta(minutes=6)))
        db.session.commit()
        reconcile_statuses(TwilioGateway(line.config["PORTAL_SETTINGS"]))
        escalate_unreached()
        fallback = db.session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "fallback_alert")
        ).all()
    assert [m.to_number for m in fallback] == [FALLBACK]


@pytest.mark.parametrize("prefix", ["", "/es", "/bs", "/vi", "/zh", "/ar"])
def test_the_keyword_each_page_names_gets_replies_in_that_language(line: Flask, prefix: str) -> None:
    page = line.test_client().get(f"{prefix}/text-line").get_data(as_text=True)
    # The example text in quotation marks, as each language writes them: “PIN …”, „POMOĆ …“,
    # «…» (in Arabic the address inside its left-to-right isolates, U+2066 … U+2069).
    example = re.search(r"[“„«\"]([^\s“”„«»\"]+) \u2066?4500 Main St\.?\u2069?[”“»\"]", page)
    assert example, "the page gives no example text"
    reply = reply_text(send_text(line.test_client(), f"{example.group(1)} 4500 Main St"))
    language = prefix.strip("/") or "en"
    assert language in language_of(reply), (example.group(1), reply)
    with line.app_context():
        request = db.session.scalars(
            select(CitRequest).where(CitRequest.callback_index == phone_index(TEXTER))
        ).one()
        assert request.location == "4500 Main St"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def line_on_any_database(
    request: pytest.FixtureRequest, tmp_path: Path, fake_twilio: FakeTwilio
) -> Iterator[Flask]:
    overrides = {}
    if request.param == "postgresql":
        overrides["PORTAL_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = make_text_line_app(tmp_path, fake_twilio, **overrides)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_two_texts_at_once_are_both_kept_and_answered(line_on_any_database: Flask) -> None:
    """A frightened texter sends a second text before the first is answered."""
    app = line_on_any_database
    pairs = [(f"+1314555{3000 + n:04d}", ("PIN", "he is scared")) for n in range(15)]
    pairs += [(f"+1314555{3100 + n:04d}", ("PIN 4500 Lindell Blvd", "4500 Lindell Blvd")) for n in range(15)]
    answers: dict[tuple[str, str], str] = {}

    def text(number: str, body: str, barrier: threading.Barrier) -> None:
        client = app.test_client()
        barrier.wait()
        answers[(number, body)] = reply_text(send_text(client, body, sender=number))

    for number, bodies in pairs:
        barrier = threading.Barrier(len(bodies))
        threads = [threading.Thread(target=text, args=(number, body, barrier)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert all(answers.get((number, body)) for number, bodies in pairs for body in bodies), answers
    with app.app_context():
        for number, bodies in pairs:
            requests = db.session.scalars(
                select(CitRequest).where(CitRequest.callback_index == phone_index(number))
            ).all()
            if bodies[0] == "PIN":
                conversation = db.session.get(Conversation, phone_index(number))
                kept = [conversation.first_message] + [
                    held["body"] for held in conversation.held_messages or []
                ]
                assert sorted(kept) == sorted(bodies) and requests == []
            else:
                assert len(requests) == 1, "one place texted twice at once made two requests"
                assert sorted(m.body for m in requests[0].messages) == sorted(bodies)


def test_one_text_delivered_twice_at_once_is_one_text_with_one_reply(line_on_any_database: Flask) -> None:
    """Twilio retries a webhook it thinks failed: the two deliveries may overlap."""
    app = line_on_any_database
    replies: list[tuple[int, str]] = []

    def deliver(barrier: threading.Barrier, number: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = send_text(client, "PIN 4500 Lindell Blvd", sender=number, sid=f"SMtwice{number[-4:]}")
        replies.append((response.status_code, reply_text(response)))

    for n in range(10):
        number = f"+1314555{3200 + n:04d}"
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=deliver, args=(barrier, number)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert len(replies) == 20 and {status for status, _reply in replies} == {200}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CitRequest)) == 10
    by_pair = [replies[i : i + 2] for i in range(0, 20, 2)]
    assert all(first[1] == second[1] and first[1] for first, second in by_pair)
