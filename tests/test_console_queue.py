"""The dispatcher's queue at a glance: the unacknowledged first and oldest first, overdue
marked in words, escalation, a texter's new text, the dispatch alert's delivery in words,
an opted-out texter, local times; the page that says the account signed in elsewhere."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from portal.console.models import ConsoleSession
from portal.database import utcnow
from portal.dispatch.models import CitRequest, OptOut, RequestMessage
from portal.extensions import db
from portal.messaging.outbox import OutboundMessage
from portal.phones import phone_index
from tests.console_helpers import csrf_token, make_user, sign_in, signed_in_dispatcher
from tests.text_line_helpers import send_text

ST_LOUIS = ZoneInfo("America/Chicago")  # agency.toml
ROWS = "/console/queue/rows"
POLL = {"HX-Request": "true"}
DISPATCH_PHONES = ("+13145550111", "+13145550112")
FALLBACK = "+13145550119"


@dataclass
class Wanted:
    """A request for a test's queue, as the test knows it."""

    age: timedelta
    location: str | None = "4500 Lindell Blvd"
    language: str = "en"
    status: str = "open"
    # Dispatch alerts' statuses, one a dispatch phone; None: no alert (typed in by hand).
    alerts: tuple[str, ...] | None = ("delivered", "delivered")
    resent: bool = False  # not acknowledged in time: alerted again (each phone twice)
    escalated: bool = False  # no dispatch phone reached: fallback numbers tried
    supervisors_alerted: bool = False
    opted_out: bool = False
    new_text: str | None = None  # the texter wrote again after the request opened
    plan: str | None = None
    reference: str = field(default="", init=False)
    number: str = field(default="", init=False)


def make_requests(app: Flask, wanted: list[Wanted], now: datetime | None = None) -> None:
    """Store the requests as the text line would have (each its own texter); fills in
    each one's reference."""
    now = now or utcnow()
    with app.app_context():
        for position, want in enumerate(wanted):
            number = f"+1314555{2000 + position + 100 * len(wanted):04d}"
            created = now - want.age
            item = CitRequest(
                created_at=created,
                source="sms" if want.alerts is not None else "voice",
                callback_number=number,
                callback_index=phone_index(number),
                language=want.language,
                location=want.location,
                location_source="texted" if want.location else "unclear",
                plan_reference=want.plan,
                plan_asks_for_cit=want.plan is not None,
                status=want.status,
                acknowledged_at=created + timedelta(seconds=30) if want.status != "open" else None,
                acknowledged_by="Dispatcher someone@example.org" if want.status != "open" else None,
                escalated_at=created + timedelta(seconds=61) if want.escalated else None,
                supervisors_alerted_at=created + timedelta(minutes=3) if want.supervisors_alerted else None,
            )
            item.messages = [RequestMessage(direction="in", at=created, body=f"PIN {want.location}")]
            if want.new_text:
                item.messages.append(RequestMessage(direction="in", at=now, body=want.new_text))
            db.session.add(item)
            db.session.flush()
            sent = list(zip(DISPATCH_PHONES, want.alerts or (), strict=False))
            for phone, status in sent * (2 if want.resent else 1):
                db.session.add(
                    OutboundMessage(
                        created_at=created,
                        sender="line",
                        to_number=phone,
                        body="CIT REQUEST",
                        purpose="dispatch_alert",
                        status=status,
                        cit_request_id=item.id,
                    )
                )
            if want.escalated:
                db.session.add(
                    OutboundMessage(
                        created_at=created,
                        sender="line",
                        to_number=FALLBACK,
                        body="CIT REQUEST",
                        purpose="fallback_alert",
                        status="queued",
                        cit_request_id=item.id,
                    )
                )
            if want.opted_out and db.session.get(OptOut, phone_index(number)) is None:
                db.session.add(OptOut(number_index=phone_index(number)))
            want.reference, want.number = item.reference, number
        db.session.commit()


def close_every_request(app: Flask) -> None:
    with app.app_context():
        db.session.execute(update(CitRequest).where(CitRequest.status != "closed").values(status="closed"))
        db.session.commit()


def plain(page: str) -> str:
    """Babel writes "9:30\u202fPM" (a narrow no-break space)."""
    return page.replace("\u202f", " ")


def row_texts(page: str) -> list[str]:
    """The queue's rows as plain text, top to bottom."""
    rows = re.findall(r'<tr class="portal-queue__row.*?</tr>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


@pytest.fixture
def console(migrated_app: Flask) -> Flask:
    return migrated_app


@pytest.fixture
def dispatcher(console: Flask) -> FlaskClient:
    return signed_in_dispatcher(console)


def test_the_unacknowledged_come_first_oldest_first_and_overdue_in_words(
    dispatcher: FlaskClient, console: Flask
) -> None:
    # PORTAL_ACKNOWLEDGE_WITHIN is 180 seconds by default.
    young = Wanted(age=timedelta(seconds=40), alerts=("queued", "queued"))
    almost = Wanted(age=timedelta(seconds=170), location="700 Clark Ave")
    overdue = Wanted(age=timedelta(minutes=6, seconds=5), location="1200 Market St", supervisors_alerted=True)
    oldest = Wanted(age=timedelta(minutes=25), status="acknowledged", location="5100 Gravois Ave")
    long_overdue = Wanted(age=timedelta(hours=1, minutes=5), language="es", location="3800 Grand Ave")
    make_requests(console, [young, almost, overdue, oldest, long_overdue])

    page = dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)
    rows = row_texts(page)
    expected = [long_overdue, overdue, almost, young, oldest]
    assert [next(w.reference for w in expected if w.reference in row) for row in rows] == [
        w.reference for w in expected
    ]
    assert "1 h 5 min — overdue" in rows[0] and "Spanish" in rows[0]
    assert "6 min — overdue" in rows[1] and "Escalated" in rows[1]
    assert "2 min" in rows[2] and "overdue" not in rows[2]
    assert "40 s" in rows[3], "under a minute is not '0 min'"
    assert "overdue" not in rows[4] and "Acknowledged" in rows[4]
    assert rows[0].count("Escalated") == 0, "supervisors not alerted yet for this one"
    assert page.count("portal-queue__row--overdue") == 2
    assert (
        "2 requests not closed" not in page and "5 requests not closed: 4 not acknowledged, 2 overdue" in page
    )
    assert 'data-title="(2 overdue, 4 waiting)"' in page
    # Acknowledge from the row: a form per unacknowledged request, none for the other.
    assert page.count("/acknowledge") == 2 * 4


def test_overdue_follows_the_acknowledge_within_setting(dispatcher: FlaskClient, console: Flask) -> None:
    console.config["PORTAL_SETTINGS"] = replace(console.config["PORTAL_SETTINGS"], acknowledge_within=60)
    late = Wanted(age=timedelta(seconds=90))
    in_time = Wanted(age=timedelta(seconds=45))
    make_requests(console, [late, in_time])
    rows = row_texts(dispatcher.get(ROWS, headers=POLL).get_data(as_text=True))
    assert late.reference in rows[0] and "1 min — overdue" in rows[0]
    assert in_time.reference in rows[1] and "45 s" in rows[1] and "overdue" not in rows[1]


def test_the_dispatch_alert_in_words(dispatcher: FlaskClient, console: Flask) -> None:
    reached = Wanted(age=timedelta(minutes=4), alerts=("delivered", "accepted"), resent=True)
    half = Wanted(age=timedelta(minutes=1), alerts=("delivered", "failed"))
    sending = Wanted(age=timedelta(seconds=5), alerts=("queued", "queued"))
    failed = Wanted(age=timedelta(minutes=2), alerts=("failed", "undelivered"), escalated=True)
    failed_soon = Wanted(age=timedelta(seconds=30), alerts=("failed", "undelivered"))
    typed_in = Wanted(age=timedelta(minutes=2), alerts=None, status="acknowledged")
    make_requests(console, [reached, half, sending, failed, failed_soon, typed_in])

    page = dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)
    rows = {
        w.reference: row
        for w in (reached, half, sending, failed, failed_soon, typed_in)
        for row in row_texts(page)
        if w.reference in row
    }
    assert "Reached 2 of 2 phones" in rows[reached.reference]
    assert "Reached 1 of 2 phones" in rows[half.reference]
    assert "Sending to 2 phones" in rows[sending.reference]
    assert "Failed: trying the fallback numbers" in rows[failed.reference]
    assert "Failed: fallback numbers next" in rows[failed_soon.reference]
    assert "None: a voice call" in rows[typed_in.reference]
    for raw in ("accepted", "delivered", "undelivered", "queued", "dispatch_alert", "fallback_alert"):
        assert raw not in " ".join(rows.values()), raw


def test_an_opted_out_texter_and_a_plan_show(dispatcher: FlaskClient, console: Flask) -> None:
    stopped = Wanted(age=timedelta(minutes=1), opted_out=True, plan="K7QM-3XPA")
    other = Wanted(age=timedelta(minutes=1))
    make_requests(console, [stopped, other])
    rows = row_texts(dispatcher.get(ROWS, headers=POLL).get_data(as_text=True))
    mine = next(row for row in rows if stopped.reference in row)
    assert "Opted out of texts: call back" in mine and "K7QM-3XPA" in mine
    assert "Opted out" not in next(row for row in rows if other.reference in row)


def test_times_are_st_louis_time_with_the_date(dispatcher: FlaskClient, console: Flask) -> None:
    # 03:30 UTC on the 23rd is 9:30 PM on the 22nd in St. Louis (CST, UTC-6).
    now = datetime(2026, 11, 23, 3, 35, tzinfo=UTC)
    late = Wanted(age=timedelta(minutes=5))
    make_requests(console, [late], now=now)
    page = plain(dispatcher.get(ROWS, headers=POLL).get_data(as_text=True))
    assert "11/22/26, 9:30 PM" in page and "11/23/26" not in page


def test_a_new_text_from_the_texter_is_marked_until_a_dispatcher_opens_the_request(
    dispatcher: FlaskClient, console: Flask
) -> None:
    texter = console.test_client()
    send_text(texter, "PIN 4500 Main St")
    with console.app_context():
        reference = db.session.scalar(select(CitRequest.reference))
    assert "New message from texter" not in dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)

    with console.app_context():  # as if the texter writes again some seconds later
        item = db.session.scalars(select(CitRequest)).one()
        item.created_at -= timedelta(seconds=5)
        for message in item.messages:
            message.at -= timedelta(seconds=5)
        db.session.commit()
    assert "New message from texter" not in dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)
    send_text(texter, "he has a knife now")
    page = dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)
    assert "New message from texter" in page
    newest = re.search(r'data-newest-text="(\d+)"', page)
    assert newest and int(newest.group(1)) > 0, "the sound's cue for a new text"

    token = csrf_token(dispatcher, "/console/")
    dispatcher.post(
        f"/console/requests/{reference}/acknowledge",
        data={"csrf_token": token},
        headers={"HX-Request": "true"},
    )
    dispatcher.get(f"/console/requests/{reference}", headers={"HX-Request": "true"})  # htmx following it
    page = dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)
    assert "New message from texter" in page, "acknowledging from the queue is no reading"

    assert dispatcher.get(f"/console/requests/{reference}").status_code == 200  # a dispatcher opens it
    assert "New message from texter" not in dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)

    send_text(texter, "he left the house")
    assert "New message from texter" in dispatcher.get(ROWS, headers=POLL).get_data(as_text=True)


def seat(client: FlaskClient) -> dict[str, str]:
    """The queue page's note for its polling, as the page sends it."""
    page = client.get("/console/").get_data(as_text=True)
    found = re.search(r"hx-headers='(\{[^']*\})'", page)
    assert found, "the queue page carries its polling's header"
    return {**POLL, **json.loads(found.group(1))}


def test_signing_in_elsewhere_is_said_and_the_queue_keeps_counting(console: Flask) -> None:
    secret = make_user(console, "ana@example.org", "dispatcher")
    first, second = console.test_client(), console.test_client()
    sign_in(console, first, "ana@example.org", secret)
    headers = seat(first)
    make_requests(console, [Wanted(age=timedelta(minutes=1)), Wanted(age=timedelta(minutes=5))])
    assert first.get(ROWS, headers=headers).status_code == 200

    before = utcnow()
    sign_in(console, second, "ana@example.org", secret)
    after = utcnow()
    answer = first.get(ROWS, headers=headers)
    page = plain(answer.get_data(as_text=True))
    assert answer.status_code == 200 and "HX-Redirect" not in answer.headers
    local = {moment.astimezone(ST_LOUIS).strftime("%-I:%M %p") for moment in (before, after)}
    said = re.search(
        r"This account signed in on another computer at \d\d/\d\d/\d\d, (\d+:\d\d [AP]M)\.", page
    )
    assert said and said.group(1) in local, page
    assert "2 open requests are waiting." in page and "4500 Lindell" not in page
    assert 'data-waiting="2"' in page

    # The full page, and a poll without the page's note, go to the sign-in page as before.
    assert first.get("/console/").status_code == 302
    bare = first.get(ROWS, headers=POLL)
    assert bare.status_code == 204 and "/console/sign-in" in bare.headers["HX-Redirect"]
    forged = first.get(ROWS, headers={**POLL, "X-Console-Seat": headers["X-Console-Seat"][:-2] + "xx"})
    assert forged.status_code == 204


def test_signing_out_or_a_lost_session_is_not_called_another_sign_in(console: Flask) -> None:
    secret = make_user(console, "bo@example.org", "dispatcher")
    client = console.test_client()
    sign_in(console, client, "bo@example.org", secret)
    headers = seat(client)
    with console.app_context():
        db.session.execute(ConsoleSession.__table__.delete())
        db.session.commit()
    answer = client.get(ROWS, headers=headers)
    assert answer.status_code == 204 and "/console/sign-in" in answer.headers["HX-Redirect"]
    assert "another computer" not in answer.get_data(as_text=True)
